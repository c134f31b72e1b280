//! HVSC update scripts (`update/UpdateNN.hvs`): parsing only, no file is touched here.
//!
//! The format, as the HVSC Update Tool's documentation (`HVSC_Update.txt` and
//! `HVS_file_format.txt`, shipped with the tool) describes it:
//!
//! * Lines whose first non-space character is `#` or `;` are comments, blank lines are
//!   skipped, except inside a block of parameter lines.
//! * A line holding only a keyword selects a mode; parameter blocks follow, each of a fixed
//!   number of lines, and the keyword need not be repeated before the next block. Keywords
//!   and their parameter lines: `MKDIR` 1, `DELETE` 1, `MOVE` 2, `REPLACE` 2, `TITLE` 2,
//!   `AUTHOR` 2, `RELEASED` 2 (older scripts: `COPYRIGHT`), `CREDITS` 4, `SPEED` 2, `SONGS` 2,
//!   `INITPLAY` 2, `MUSPLAYER` 2, `PLAYSID` 2, `CLOCK` 2 (older: `VIDEO`), `SIDMODEL` 2
//!   (older: `SIDCHIP`), `FREEPAGES` 2, `FLAGS` 5, `FIXLOAD` 1.
//! * The first parameter line is an HVSC path (`/MUSICIANS/H/Hubbard_Rob/Commando.sid`,
//!   relative to the collection root, `/` or `\` separated, case-insensitive; a directory
//!   ends with `/`). Credit lines are copied into the file as they are (at most 32
//!   characters); `*` in a `CREDITS` or `FLAGS` line leaves that field alone.
//! * The first lines may say `# Resulting Version: N` and `#  Previous Version: M`.
//!
//! Real scripts (e.g. `Update84.hvs`) bring new tunes with `MOVE /update/new/<dir>/ /<dir>/`,
//! fixed rips with `REPLACE /update/fix/<file> /<dir>/`, renames with `MOVE` between
//! collection paths, removals with `DELETE`, header fixes with `CREDITS` and friends, and
//! finally `DELETE` the emptied `/update/...` folders.

use std::fmt;

/// A change to a tune's header (see [`crate::sidedit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Name, author, released: `None` leaves the field as it is. Latin-1 bytes.
    Credits([Option<Vec<u8>>; 3]),
    Speed(u32),
    Songs {
        songs: u16,
        start: u16,
    },
    InitPlay {
        init: u16,
        play: u16,
    },
    /// The four bit fields of `flags`: Compute's Sidplayer, PlaySID-specific, clock
    /// (0 unknown, 1 PAL, 2 NTSC, 3 any), SID model (0 unknown, 1 6581, 2 8580, 3 any).
    Flags {
        mus_player: Option<bool>,
        playsid: Option<bool>,
        clock: Option<u8>,
        model: Option<u8>,
    },
    FreePages {
        start: u8,
        pages: u8,
    },
    /// Load address + 2, the first two data bytes dropped (a duplicate load address).
    FixLoad,
}

/// One action of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Mkdir(String),
    Delete(String),
    Move { from: String, to: String },
    Replace { from: String, to: String },
    Edit { path: String, edit: Edit },
}

/// A command and the script line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub line: usize,
    pub command: Command,
}

/// A parsed update script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    /// `# Previous Version:` (the collection version the script expects).
    pub previous: Option<String>,
    /// `# Resulting Version:`.
    pub resulting: Option<String>,
    pub steps: Vec<Step>,
}

/// A script that cannot be applied as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ScriptError {}

/// The longest credit line a PSID header holds.
pub const MAX_CREDIT: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Mkdir,
    Delete,
    Move,
    Replace,
    Title,
    Author,
    Released,
    Credits,
    Speed,
    Songs,
    InitPlay,
    MusPlayer,
    PlaySid,
    Clock,
    SidModel,
    FreePages,
    Flags,
    FixLoad,
}

impl Mode {
    fn from_keyword(s: &str) -> Option<Mode> {
        Some(match s {
            "MKDIR" => Mode::Mkdir,
            "DELETE" => Mode::Delete,
            "MOVE" => Mode::Move,
            "REPLACE" => Mode::Replace,
            "TITLE" => Mode::Title,
            "AUTHOR" => Mode::Author,
            "RELEASED" | "COPYRIGHT" => Mode::Released,
            "CREDITS" => Mode::Credits,
            "SPEED" => Mode::Speed,
            "SONGS" => Mode::Songs,
            "INITPLAY" => Mode::InitPlay,
            "MUSPLAYER" => Mode::MusPlayer,
            "PLAYSID" => Mode::PlaySid,
            "CLOCK" | "VIDEO" => Mode::Clock,
            "SIDMODEL" | "SIDCHIP" => Mode::SidModel,
            "FREEPAGES" => Mode::FreePages,
            "FLAGS" => Mode::Flags,
            "FIXLOAD" => Mode::FixLoad,
            _ => return None,
        })
    }

    /// Parameter lines after the first (the path).
    fn extra_lines(self) -> usize {
        match self {
            Mode::Mkdir | Mode::Delete | Mode::FixLoad => 0,
            Mode::Credits => 3,
            Mode::Flags => 4,
            _ => 1,
        }
    }
}

/// An HVSC path as written in a script: `\` made `/`, surrounding spaces dropped. A
/// directory keeps its trailing `/`.
pub fn hvsc_path(s: &str) -> String {
    s.trim().replace('\\', "/")
}

fn flag(s: &str) -> Result<bool, String> {
    match s.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(format!("expected 0 or 1, found {other:?}")),
    }
}

fn clock(s: &str) -> Result<u8, String> {
    match s.trim() {
        "UNKNOWN" => Ok(0),
        "PAL" => Ok(1),
        "NTSC" => Ok(2),
        "ANY" | "EITHER" => Ok(3),
        other => Err(format!(
            "expected UNKNOWN, PAL, NTSC or ANY, found {other:?}"
        )),
    }
}

fn model(s: &str) -> Result<u8, String> {
    match s.trim() {
        "UNKNOWN" => Ok(0),
        "6581" => Ok(1),
        "8580" => Ok(2),
        "ANY" | "EITHER" => Ok(3),
        other => Err(format!(
            "expected UNKNOWN, 6581, 8580 or ANY, found {other:?}"
        )),
    }
}

fn pair(s: &str, radix: u32) -> Result<(u32, u32), String> {
    let (a, b) = s
        .trim()
        .split_once(',')
        .ok_or_else(|| format!("expected two values separated by a comma, found {s:?}"))?;
    let p = |v: &str| {
        u32::from_str_radix(v.trim(), radix).map_err(|_| format!("bad number {v:?} in {s:?}"))
    };
    Ok((p(a)?, p(b)?))
}

fn credit(line: &str) -> Result<Vec<u8>, String> {
    if line.trim().is_empty() {
        return Err("empty credit line (premature end of the block?)".into());
    }
    let bytes: Vec<u8> = line
        .chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| format!("{c:?} is not Latin-1")))
        .collect::<Result<_, _>>()?;
    if bytes.len() > MAX_CREDIT {
        return Err(format!(
            "credit line longer than {MAX_CREDIT} characters: {line:?}"
        ));
    }
    Ok(bytes)
}

/// `Resulting Version` / `Previous Version` from a comment line, if it is one.
fn version_comment(line: &str) -> Option<(bool, String)> {
    let body = line.trim_start().strip_prefix('#')?;
    let words: Vec<&str> = body.split_whitespace().collect();
    let joined = words.join(" ").to_ascii_lowercase();
    let value = |prefix: &str| {
        joined
            .strip_prefix(prefix)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(v) = value("resulting version:") {
        return Some((true, v));
    }
    value("previous version:").map(|v| (false, v))
}

/// Parses a script's bytes (ISO-8859-1, LF or CR LF).
pub fn parse(bytes: &[u8]) -> Result<Script, ScriptError> {
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if lines.last() == Some(&"") {
        lines.pop(); // the final line end
    }
    let mut script = Script::default();
    let mut mode: Option<Mode> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let no = i + 1;
        i += 1;
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if t.starts_with('#') || t.starts_with(';') {
            if no <= 10 {
                match version_comment(t) {
                    Some((true, v)) => script.resulting = Some(v),
                    Some((false, v)) => script.previous = Some(v),
                    None => {}
                }
            }
            continue;
        }
        if let Some(m) = Mode::from_keyword(t) {
            mode = Some(m);
            continue;
        }
        let err = |line: usize, message: String| ScriptError { line, message };
        let Some(m) = mode else {
            return Err(err(no, format!("{t:?} before any keyword")));
        };
        let path = hvsc_path(t);
        if !path.starts_with('/') {
            return Err(err(
                no,
                format!("expected an HVSC path (starting with /), found {t:?}"),
            ));
        }
        let n = m.extra_lines();
        if i + n > lines.len() {
            return Err(err(no, "premature end of the script".into()));
        }
        let params: Vec<&str> = lines[i..i + n].to_vec();
        i += n;
        let at = |k: usize| no + 1 + k;
        let p = |k: usize| params[k];
        let edit = |e: Edit| Command::Edit {
            path: path.clone(),
            edit: e,
        };
        let command = match m {
            Mode::Mkdir => Command::Mkdir(path.clone()),
            Mode::Delete => Command::Delete(path.clone()),
            Mode::Move | Mode::Replace => {
                let to = hvsc_path(p(0));
                if !to.starts_with('/') {
                    return Err(err(
                        at(0),
                        format!("expected a destination path, found {:?}", p(0)),
                    ));
                }
                if m == Mode::Move {
                    Command::Move {
                        from: path.clone(),
                        to,
                    }
                } else {
                    Command::Replace {
                        from: path.clone(),
                        to,
                    }
                }
            }
            Mode::Title | Mode::Author | Mode::Released => {
                let c = credit(p(0)).map_err(|e| err(at(0), e))?;
                let mut f = [None, None, None];
                f[match m {
                    Mode::Title => 0,
                    Mode::Author => 1,
                    _ => 2,
                }] = Some(c);
                edit(Edit::Credits(f))
            }
            Mode::Credits => {
                let mut f = [None, None, None];
                for (k, slot) in f.iter_mut().enumerate() {
                    if p(k).trim() != "*" {
                        *slot = Some(credit(p(k)).map_err(|e| err(at(k), e))?);
                    }
                }
                edit(Edit::Credits(f))
            }
            Mode::Speed => edit(Edit::Speed(
                u32::from_str_radix(p(0).trim(), 16)
                    .map_err(|_| err(at(0), format!("bad hex speed {:?}", p(0))))?,
            )),
            Mode::Songs => {
                let (songs, start) = pair(p(0), 10).map_err(|e| err(at(0), e))?;
                if songs == 0 || songs > 256 || start > songs {
                    return Err(err(at(0), format!("bad song count {:?}", p(0))));
                }
                edit(Edit::Songs {
                    songs: songs as u16,
                    start: start.max(1) as u16,
                })
            }
            Mode::InitPlay => {
                let (init, play) = pair(p(0), 16).map_err(|e| err(at(0), e))?;
                if init > 0xFFFF || play > 0xFFFF {
                    return Err(err(at(0), format!("address out of range {:?}", p(0))));
                }
                edit(Edit::InitPlay {
                    init: init as u16,
                    play: play as u16,
                })
            }
            Mode::FreePages => {
                let (start, pages) = pair(p(0), 16).map_err(|e| err(at(0), e))?;
                if start > 0xFF || pages > 0xFF {
                    return Err(err(at(0), format!("page out of range {:?}", p(0))));
                }
                edit(Edit::FreePages {
                    start: start as u8,
                    pages: pages as u8,
                })
            }
            Mode::MusPlayer => edit(Edit::Flags {
                mus_player: Some(flag(p(0)).map_err(|e| err(at(0), e))?),
                playsid: None,
                clock: None,
                model: None,
            }),
            Mode::PlaySid => edit(Edit::Flags {
                mus_player: None,
                playsid: Some(flag(p(0)).map_err(|e| err(at(0), e))?),
                clock: None,
                model: None,
            }),
            Mode::Clock => edit(Edit::Flags {
                mus_player: None,
                playsid: None,
                clock: Some(clock(p(0)).map_err(|e| err(at(0), e))?),
                model: None,
            }),
            Mode::SidModel => edit(Edit::Flags {
                mus_player: None,
                playsid: None,
                clock: None,
                model: Some(model(p(0)).map_err(|e| err(at(0), e))?),
            }),
            Mode::Flags => {
                let star = |k: usize| p(k).trim() == "*";
                edit(Edit::Flags {
                    mus_player: (!star(0))
                        .then(|| flag(p(0)))
                        .transpose()
                        .map_err(|e| err(at(0), e))?,
                    playsid: (!star(1))
                        .then(|| flag(p(1)))
                        .transpose()
                        .map_err(|e| err(at(1), e))?,
                    clock: (!star(2))
                        .then(|| clock(p(2)))
                        .transpose()
                        .map_err(|e| err(at(2), e))?,
                    model: (!star(3))
                        .then(|| model(p(3)))
                        .transpose()
                        .map_err(|e| err(at(3), e))?,
                })
            }
            Mode::FixLoad => edit(Edit::FixLoad),
        };
        script.steps.push(Step { line: no, command });
    }
    Ok(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(text: &[u8]) -> Vec<Command> {
        parse(text)
            .unwrap()
            .steps
            .into_iter()
            .map(|s| s.command)
            .collect()
    }

    #[test]
    fn versions_and_the_shapes_real_scripts_use() {
        // Shaped like Update84.hvs: fixes, new tunes, renames, removals, credits, cleanup.
        let text = "# High Voltage SID Collection: Update #84\r\n\
# Resulting Version: 84\r\n\
#  Previous   Version: 83\r\n\
#\r\n\
REPLACE\r\n\
\r\n\
# from Composer: fixed loop\r\n\
/update/fix/MUSICIANS/H/Hubbard_Rob/Flash_Gordon.sid\r\n\
/MUSICIANS/H/Hubbard_Rob/\r\n\
MOVE\r\n\
/update/new/DEMOS/0-9/\r\n\
/DEMOS/0-9/\r\n\
\r\n\
/MUSICIANS/B/Bordeaux/Hangmania.sid\r\n\
/MUSICIANS/B/Bordeaux/Hangmani.sid\r\n\
DELETE\r\n\
/DEMOS/A-F/C_C_S_Digihits.sid\r\n\
/update/fix/MUSICIANS/H/Hubbard_Rob/\r\n\
#######\r\n\
CREDITS\r\n\
#######\r\n\
/DEMOS/UNKNOWN/Digi_Music_Sample.sid\r\n\
Digi Sample Music\r\n\
*\r\n\
1988 Gamma Cracking Force\r\n";
        let s = parse(text.as_bytes()).unwrap();
        assert_eq!(s.resulting.as_deref(), Some("84"));
        assert_eq!(s.previous.as_deref(), Some("83"));
        assert_eq!(s.steps[0].line, 8);
        let c: Vec<Command> = s.steps.into_iter().map(|s| s.command).collect();
        assert_eq!(
            c,
            vec![
                Command::Replace {
                    from: "/update/fix/MUSICIANS/H/Hubbard_Rob/Flash_Gordon.sid".into(),
                    to: "/MUSICIANS/H/Hubbard_Rob/".into()
                },
                Command::Move {
                    from: "/update/new/DEMOS/0-9/".into(),
                    to: "/DEMOS/0-9/".into()
                },
                Command::Move {
                    from: "/MUSICIANS/B/Bordeaux/Hangmania.sid".into(),
                    to: "/MUSICIANS/B/Bordeaux/Hangmani.sid".into()
                },
                Command::Delete("/DEMOS/A-F/C_C_S_Digihits.sid".into()),
                Command::Delete("/update/fix/MUSICIANS/H/Hubbard_Rob/".into()),
                Command::Edit {
                    path: "/DEMOS/UNKNOWN/Digi_Music_Sample.sid".into(),
                    edit: Edit::Credits([
                        Some(b"Digi Sample Music".to_vec()),
                        None,
                        Some(b"1988 Gamma Cracking Force".to_vec())
                    ])
                },
            ]
        );
    }

    #[test]
    fn every_header_keyword() {
        let c = cmds(
            b"TITLE\n/20CC/Amtrak.sid\nAmtrak\nAUTHOR\n/a.sid\nJ\xf6rg\nCOPYRIGHT\n/a.sid\n1989 X\n\
SPEED\n/GAMES/A-F/Bird_Mother.sid\n7F\nSONGS\n/b.sid\n6,3\nINITPLAY\n/c.sid\n107E,1078\n\
MUSPLAYER\n/d.sid\n0\nPLAYSID\n/d.sid\n1\nCLOCK\n/e.sid\nNTSC\nVIDEO\n/e.sid\nPAL\n\
SIDMODEL\n/f.sid\n8580\nSIDCHIP\n/f.sid\nEITHER\nFREEPAGES\n/g.sid\nC0,10\n\
FLAGS\n/h.sid\n*\n*\nPAL\n8580\nFIXLOAD\n/i.sid\nMKDIR\n/VARIOUS/AMJ/Example/\n",
        );
        let edits: Vec<&Edit> = c
            .iter()
            .filter_map(|c| match c {
                Command::Edit { edit, .. } => Some(edit),
                _ => None,
            })
            .collect();
        assert_eq!(
            edits[0],
            &Edit::Credits([Some(b"Amtrak".to_vec()), None, None])
        );
        assert_eq!(
            edits[1],
            &Edit::Credits([None, Some(vec![b'J', 0xF6, b'r', b'g']), None])
        );
        assert_eq!(
            edits[2],
            &Edit::Credits([None, None, Some(b"1989 X".to_vec())])
        );
        assert_eq!(edits[3], &Edit::Speed(0x7F));
        assert_eq!(edits[4], &Edit::Songs { songs: 6, start: 3 });
        assert_eq!(
            edits[5],
            &Edit::InitPlay {
                init: 0x107E,
                play: 0x1078
            }
        );
        let f = |m, p, c, s| Edit::Flags {
            mus_player: m,
            playsid: p,
            clock: c,
            model: s,
        };
        assert_eq!(edits[6], &f(Some(false), None, None, None));
        assert_eq!(edits[7], &f(None, Some(true), None, None));
        assert_eq!(edits[8], &f(None, None, Some(2), None));
        assert_eq!(edits[9], &f(None, None, Some(1), None));
        assert_eq!(edits[10], &f(None, None, None, Some(2)));
        assert_eq!(edits[11], &f(None, None, None, Some(3)));
        assert_eq!(
            edits[12],
            &Edit::FreePages {
                start: 0xC0,
                pages: 0x10
            }
        );
        assert_eq!(edits[13], &f(None, None, Some(1), Some(2)));
        assert_eq!(edits[14], &Edit::FixLoad);
        assert_eq!(
            c.last(),
            Some(&Command::Mkdir("/VARIOUS/AMJ/Example/".into()))
        );
    }

    #[test]
    fn credit_lines_are_raw_and_may_look_like_comments() {
        let c = cmds(b"TITLE\n/x.sid\n#1 Hit\n");
        assert_eq!(
            c,
            vec![Command::Edit {
                path: "/x.sid".into(),
                edit: Edit::Credits([Some(b"#1 Hit".to_vec()), None, None])
            }]
        );
        // Backslash paths (old scripts) are HVSC paths too.
        assert_eq!(
            cmds(b"DELETE\n\\DEMOS\\x.sid\n"),
            vec![Command::Delete("/DEMOS/x.sid".into())]
        );
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line) in [
            ("/x.sid\n", 1),                                            // no keyword yet
            ("MOVE\n/a.sid\n", 2),                                      // destination missing
            ("MOVE\n/a.sid\nnot a path\n", 3),                          // destination not a path
            ("TITLE\n/a.sid\n\n", 3),                                   // empty credit
            ("TITLE\n/a.sid\n0123456789012345678901234567890123\n", 3), // too long
            ("SONGS\n/a.sid\n3\n", 3),                                  // no comma
            ("SONGS\n/a.sid\n0,1\n", 3),                                // zero songs
            ("CLOCK\n/a.sid\nSECAM\n", 3),
            ("SPEED\n/a.sid\nxyz\n", 3),
            ("FLAGS\n/a.sid\n*\n2\n*\n*\n", 4),
            ("DELETE\nDEMOS/x.sid\n", 2), // not rooted
        ] {
            let e = parse(text.as_bytes()).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }
}
