use cache::{
    CacheError, Chip, ChipPreference, Platform, Preferences, RenderingMode, SoftwareEngine,
};
use sidfile::SidModel;

#[test]
fn all_eight_preference_combinations() {
    use ChipPreference::*;
    use SidModel::*;
    // (chip preference, tune says) -> chip
    let chip_table = [
        (TuneOr6581, Mos6581, Chip::Mos6581),
        (TuneOr6581, Mos8580, Chip::Mos8580),
        (TuneOr6581, Unknown, Chip::Mos6581),
        (TuneOr6581, Any, Chip::Mos6581),
        (TuneOr8580R5, Mos6581, Chip::Mos6581),
        (TuneOr8580R5, Mos8580, Chip::Mos8580),
        (TuneOr8580R5, Unknown, Chip::Mos8580),
        (TuneOr8580R5, Any, Chip::Mos8580),
        (Always6581, Mos6581, Chip::Mos6581),
        (Always6581, Mos8580, Chip::Mos6581),
        (Always6581, Unknown, Chip::Mos6581),
        (Always6581, Any, Chip::Mos6581),
        (Always8580R5, Mos6581, Chip::Mos8580),
        (Always8580R5, Mos8580, Chip::Mos8580),
        (Always8580R5, Unknown, Chip::Mos8580),
        (Always8580R5, Any, Chip::Mos8580),
    ];
    let mut combos = 0;
    for rendering in RenderingMode::ALL {
        for chip in ChipPreference::ALL {
            combos += 1;
            let prefs = Preferences {
                rendering,
                chip,
                engine: SoftwareEngine::Sidflow,
            };
            for &(c, model, want) in chip_table.iter().filter(|r| r.0 == chip) {
                assert_eq!(c, chip);
                // Hardware available: always the Ultimate.
                let r = prefs.resolve(model, true).unwrap();
                assert_eq!(
                    (r.platform, r.chip),
                    (Platform::C64u, want),
                    "{rendering} {chip} {model:?}"
                );
                // No hardware: software, or an error for "hardware only".
                match rendering {
                    RenderingMode::HardwareIfAvailable => {
                        let r = prefs.resolve(model, false).unwrap();
                        assert_eq!((r.platform, r.chip), (Platform::Sidflow, want));
                    }
                    RenderingMode::HardwareOnly => {
                        assert!(matches!(
                            prefs.resolve(model, false),
                            Err(CacheError::NoHardware)
                        ));
                    }
                }
            }
        }
    }
    assert_eq!(combos, 8);
}

#[test]
fn defaults_and_names() {
    let p = Preferences::default();
    assert_eq!(p.rendering, RenderingMode::HardwareIfAvailable);
    assert_eq!(p.chip, ChipPreference::TuneOr6581);
    let sp = Preferences {
        engine: SoftwareEngine::Sidplayfp,
        ..p
    };
    assert_eq!(
        sp.resolve(SidModel::Unknown, false).unwrap().platform,
        Platform::Sidplayfp
    );
    for c in ChipPreference::ALL {
        assert_eq!(c.to_string().parse::<ChipPreference>().unwrap(), c);
    }
    for r in RenderingMode::ALL {
        assert_eq!(r.to_string().parse::<RenderingMode>().unwrap(), r);
    }
    let e = "always-6581"
        .parse::<ChipPreference>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("tune-or-6581"), "{e}");
}
