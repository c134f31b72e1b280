//! `sidflowd generate-docs DIR` (hidden): the man pages and shell completions, generated from
//! the command-line definition itself (clap_mangen, clap_complete), so they cannot drift
//! from it. They are kept in `packaging/man` and `packaging/completions` (the Debian package
//! installs them, also when cross-built for a board whose binary cannot run on the build
//! machine); a test fails when the kept files differ from what the CLI generates now:
//! `cargo run -p sidflowd -- generate-docs packaging` brings them up to date.

use anyhow::Context;
use clap::CommandFactory;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder to write `man/` and `completions/` into (e.g. `packaging`).
    pub out: PathBuf,
}

/// Every generated file: (path under the output folder, contents).
pub fn files() -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let cmd = crate::Cli::command();
    let mut out = Vec::new();
    let mut page = |c: clap::Command, name: String| -> anyhow::Result<()> {
        let mut buf = Vec::new();
        // A page's NAME is its command's name: `sidflowd-serve`, not `serve` (clap wants a
        // 'static name; this one-shot generator leaks a few bytes per page).
        let named = c.name(&*Box::leak(name.clone().into_boxed_str()));
        clap_mangen::Man::new(named)
            .title(name.clone())
            .section("8")
            .manual("SIDFlow")
            .render(&mut buf)
            .context("rendering a man page")?;
        out.push((PathBuf::from(format!("man/{name}.8")), buf));
        Ok(())
    };
    page(cmd.clone(), "sidflowd".into())?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        page(sub.clone(), format!("sidflowd-{}", sub.get_name()))?;
    }
    use clap_complete::Shell;
    for (shell, file) in [
        (Shell::Bash, "completions/sidflowd.bash"),
        (Shell::Zsh, "completions/_sidflowd"),
        (Shell::Fish, "completions/sidflowd.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut crate::Cli::command(), "sidflowd", &mut buf);
        out.push((PathBuf::from(file), buf));
    }
    Ok(out)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    for (rel, bytes) in files()? {
        let p = a.out.join(&rel);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write(&p, &bytes)?;
        tracing::info!("wrote {}", p.display());
    }
    Ok(())
}

/// Temporary name, then rename.
fn write(p: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = p.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, p).with_context(|| format!("renaming to {}", p.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn kept_man_pages_and_completions_are_what_the_cli_generates() {
        let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging"));
        for (rel, want) in super::files().unwrap() {
            let have = std::fs::read(root.join(&rel)).unwrap_or_default();
            assert!(
                have == want,
                "packaging/{} is not what the CLI generates: run \
                 `cargo run -p sidflowd -- generate-docs packaging`",
                rel.display()
            );
        }
        let page = String::from_utf8(super::files().unwrap()[0].1.clone()).unwrap();
        assert!(page.contains(".TH sidflowd 8"), "{}", &page[..200]);
        assert!(page.contains("serve"));
    }
}
