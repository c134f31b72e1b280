//! SID chip choice on U64-class devices through the configuration items that really exist
//! (firmware `u64_config.cc`): "SID Player Autoconfig", "Allow Autoconfig uses UltiSid",
//! "SID Socket N", "SID Detected Socket N" (read-only detection result), "UltiSID N Filter
//! Curve" and "UltiSID N Combined Waveforms". Previous values are read first and restored
//! afterwards; nothing is ever saved to flash (changes are live only until power-off anyway).

use crate::error::{Error, Result};
use crate::rest::Client;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub const CAT_U64: &str = "U64 Specific Settings";
pub const CAT_SOCKETS: &str = "SID Sockets Configuration";
pub const CAT_ULTISID: &str = "UltiSID Configuration";
pub const ITEM_AUTOCONFIG: &str = "SID Player Autoconfig";
pub const ITEM_ALLOW_ULTISID: &str = "Allow Autoconfig uses UltiSid";

/// Which SID the device should play the tune on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChipChoice {
    /// Leave the device's configuration as it is.
    Device,
    /// A real chip in a socket (the first socket with something detected in it).
    Real,
    /// The FPGA's UltiSID emulating a 6581 (filter curve "6581", 6581 combined waveforms).
    UltiSid6581,
    /// The FPGA's UltiSID emulating an 8580 (filter curve "8580 Lo", 8580 waveforms).
    UltiSid8580,
}

impl ChipChoice {
    pub fn parse(s: &str) -> Option<ChipChoice> {
        match s.to_ascii_lowercase().as_str() {
            "device" | "auto" => Some(ChipChoice::Device),
            "real" | "socket" => Some(ChipChoice::Real),
            "ultisid-6581" | "6581" => Some(ChipChoice::UltiSid6581),
            "ultisid-8580" | "8580" => Some(ChipChoice::UltiSid8580),
            _ => None,
        }
    }
}

/// One setting as (category, item, value).
pub type Setting = (String, String, String);

fn s(c: &str, i: &str, v: &str) -> Setting {
    (c.to_string(), i.to_string(), v.to_string())
}

/// The detection result of socket `n` as a cache tag ("6581", "8580", "fpgasid", ...), None
/// when the socket is empty.
pub fn detected_tag(detected: &str) -> Option<String> {
    let d = detected.trim();
    if d.is_empty() || d.eq_ignore_ascii_case("none") {
        return None;
    }
    Some(
        d.chars()
            .filter_map(|c| {
                if c.is_ascii_alphanumeric() {
                    Some(c.to_ascii_lowercase())
                } else if c == ' ' || c == '-' {
                    Some('-')
                } else {
                    None
                }
            })
            .collect(),
    )
}

/// The settings a choice needs, given the sockets' detection results. Returns the settings
/// and the chip tag for cache variants (`c64u-<tag>`).
pub fn plan(choice: ChipChoice, detected: [Option<String>; 2]) -> Result<(Vec<Setting>, String)> {
    Ok(match choice {
        ChipChoice::Device => (Vec::new(), "device".to_string()),
        ChipChoice::Real => {
            let (n, tag) = detected
                .iter()
                .enumerate()
                .find_map(|(i, d)| d.as_ref().map(|t| (i + 1, t.clone())))
                .ok_or_else(|| {
                    Error::Invalid("no SID chip detected in socket 1 or 2".to_string())
                })?;
            (
                vec![
                    s(CAT_SOCKETS, &format!("SID Socket {n}"), "Enabled"),
                    s(CAT_U64, ITEM_AUTOCONFIG, "Enabled"),
                    // With UltiSID not allowed, autoconfig's last pass maps even a
                    // mismatched tune onto the real socket: the way to force the real chip.
                    s(CAT_U64, ITEM_ALLOW_ULTISID, "No"),
                ],
                tag,
            )
        }
        ChipChoice::UltiSid6581 | ChipChoice::UltiSid8580 => {
            let (curve, wave, tag) = if choice == ChipChoice::UltiSid6581 {
                ("6581", "6581", "ultisid-6581")
            } else {
                ("8580 Lo", "8580", "ultisid-8580")
            };
            let mut v = vec![
                s(CAT_U64, ITEM_AUTOCONFIG, "Enabled"),
                s(CAT_U64, ITEM_ALLOW_ULTISID, "Yes"),
                // Autoconfig tries the sockets before UltiSID: take them out for this job.
                s(CAT_SOCKETS, "SID Socket 1", "Disabled"),
                s(CAT_SOCKETS, "SID Socket 2", "Disabled"),
            ];
            for n in 1..=2 {
                v.push(s(CAT_ULTISID, &format!("UltiSID {n} Filter Curve"), curve));
                v.push(s(
                    CAT_ULTISID,
                    &format!("UltiSID {n} Combined Waveforms"),
                    wave,
                ));
            }
            (v, tag.to_string())
        }
    })
}

/// The sockets' detection results (only needed for [`ChipChoice::Real`]).
fn detect(client: &Client, choice: ChipChoice) -> Result<[Option<String>; 2]> {
    let mut d = [None, None];
    if choice == ChipChoice::Real {
        for (i, slot) in d.iter_mut().enumerate() {
            let v = client.config_get(CAT_SOCKETS, &format!("SID Detected Socket {}", i + 1))?;
            *slot = detected_tag(&v);
        }
    }
    Ok(d)
}

/// The chip tag a job with `choice` will record with (what [`ChipSession::apply`] would
/// report), without changing anything on the device.
pub fn expected_tag(client: &Client, choice: ChipChoice) -> Result<String> {
    Ok(plan(choice, detect(client, choice)?)?.1)
}

/// Settings applied for one job; restores the previous values on `restore()` or drop.
pub struct ChipSession {
    client: Arc<Client>,
    saved: Vec<Setting>,
    /// Cache tag of the chip used.
    pub tag: String,
}

impl ChipSession {
    /// Read the previous values, then apply the plan in one `POST /v1/configs`.
    pub fn apply(client: Arc<Client>, choice: ChipChoice) -> Result<ChipSession> {
        let (settings, tag) = plan(choice, detect(&client, choice)?)?;
        let mut saved = Vec::new();
        for (c, i, _) in &settings {
            let old = client.config_get(c, i)?;
            saved.push((c.clone(), i.clone(), old));
        }
        let session = ChipSession { client, saved, tag };
        if !settings.is_empty() {
            tracing::info!(device = %session.client.addr(), chip = %session.tag, "applying SID configuration (not saved to flash)");
            session.client.configs_post(&settings)?;
        }
        Ok(session)
    }

    /// Put the previous values back.
    pub fn restore(mut self) -> Result<()> {
        self.restore_inner()
    }

    fn restore_inner(&mut self) -> Result<()> {
        if self.saved.is_empty() {
            return Ok(());
        }
        let saved = std::mem::take(&mut self.saved);
        self.client.configs_post(&saved)
    }
}

impl Drop for ChipSession {
    fn drop(&mut self) {
        if let Err(e) = self.restore_inner() {
            tracing::warn!(device = %self.client.addr(), "restoring SID configuration failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_chip_uses_first_detected_socket() {
        let (v, tag) = plan(ChipChoice::Real, [None, Some("8580".into())]).unwrap();
        assert_eq!(tag, "8580");
        assert!(v.contains(&s(CAT_SOCKETS, "SID Socket 2", "Enabled")));
        assert!(v.contains(&s(CAT_U64, ITEM_ALLOW_ULTISID, "No")));
        assert!(plan(ChipChoice::Real, [None, None]).is_err());
    }

    #[test]
    fn ultisid_sets_curve_and_waveforms() {
        let (v, tag) = plan(ChipChoice::UltiSid8580, [None, None]).unwrap();
        assert_eq!(tag, "ultisid-8580");
        assert!(v.contains(&s(CAT_ULTISID, "UltiSID 1 Filter Curve", "8580 Lo")));
        assert!(v.contains(&s(CAT_ULTISID, "UltiSID 2 Combined Waveforms", "8580")));
        // Never the nonexistent item the original SIDFlow used.
        assert!(!v.iter().any(|(_, i, _)| i.contains("SID in Socket")));
    }

    #[test]
    fn tags() {
        assert_eq!(detected_tag("None"), None);
        assert_eq!(
            detected_tag("SIDKick (Teensy)").as_deref(),
            Some("sidkick-teensy")
        );
    }
}
