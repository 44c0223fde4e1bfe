//! Where Zotero keeps its data and its linked files: the settings Zotero writes into its
//! profile's `prefs.js` (`extensions.zotero.dataDir`, `extensions.zotero.baseAttachmentPath`).
//! Read, never written; the profile folder is found from the user's home folder, which the
//! face hands in (the engine reads no environment).

use std::path::{Path, PathBuf};

/// What Zotero's settings say about its folders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefs {
    /// The data folder, where the user moved it (`None`: Zotero's default, `~/Zotero`).
    pub data_dir: Option<PathBuf>,
    /// The base folder of linked files stored relative to it (`attachments:` paths).
    pub base_attachment_path: Option<PathBuf>,
}

impl Prefs {
    /// The settings of the most recently used Zotero profile under `home`, where there is one.
    pub fn load(home: &Path) -> Prefs {
        let roots = [
            home.join(".zotero/zotero"),
            home.join("Library/Application Support/Zotero/Profiles"),
            home.join("AppData/Roaming/Zotero/Zotero/Profiles"),
        ];
        let newest = roots
            .iter()
            .filter_map(|root| std::fs::read_dir(root).ok())
            .flatten()
            .flatten()
            .map(|profile| profile.path().join("prefs.js"))
            .filter_map(|prefs| {
                let modified = std::fs::metadata(&prefs).ok()?.modified().ok()?;
                Some((modified, prefs))
            })
            .max();
        newest
            .and_then(|(_, path)| std::fs::read_to_string(path).ok())
            .map(|text| Prefs::parse(&text))
            .unwrap_or_default()
    }

    /// Reads the two settings out of a `prefs.js` text (`user_pref("name", value);` lines).
    pub fn parse(text: &str) -> Prefs {
        let mut prefs = Prefs::default();
        let mut use_data_dir = false;
        let mut data_dir = None;
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("user_pref(") else {
                continue;
            };
            let Some(rest) = rest.strip_suffix(");") else {
                continue;
            };
            // `"name", value`: the name is a JSON string, so is a string value.
            let mut de = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            let Some(Ok(name)) = de.next() else {
                continue;
            };
            let value = rest[de.byte_offset()..]
                .trim_start()
                .trim_start_matches(',')
                .trim();
            let string = || {
                serde_json::from_str::<String>(value)
                    .ok()
                    .filter(|s| !s.is_empty())
            };
            match name.as_str() {
                "extensions.zotero.dataDir" => data_dir = string().map(PathBuf::from),
                "extensions.zotero.useDataDir" => use_data_dir = value == "true",
                "extensions.zotero.baseAttachmentPath" => {
                    prefs.base_attachment_path = string().map(PathBuf::from)
                }
                _ => {}
            }
        }
        // Zotero 7 writes dataDir without useDataDir; older ones set both.
        if use_data_dir || !text.contains("extensions.zotero.useDataDir") {
            prefs.data_dir = data_dir;
        }
        prefs
    }
}

/// The Zotero data folder of the user whose home is `home`: where Zotero's settings put it,
/// else Zotero's default, `~/Zotero`.
pub fn default_dir(home: &Path) -> PathBuf {
    Prefs::load(home)
        .data_dir
        .unwrap_or_else(|| home.join("Zotero"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_folder_and_the_base_folder_come_from_prefs_js() {
        let text = r#"// Mozilla User Preferences
user_pref("extensions.zotero.dataDir", "/data/My \"Zotero\"");
user_pref("extensions.zotero.baseAttachmentPath", "C:\\Users\\ann\\Papers");
user_pref("extensions.zotero.lastViewedFolder", "L1");
"#;
        let prefs = Prefs::parse(text);
        assert_eq!(prefs.data_dir, Some(PathBuf::from("/data/My \"Zotero\"")));
        assert_eq!(
            prefs.base_attachment_path,
            Some(PathBuf::from("C:\\Users\\ann\\Papers"))
        );
        // An old profile that moved the folder and then went back to the default.
        let old = "user_pref(\"extensions.zotero.dataDir\", \"/old\");\n\
                   user_pref(\"extensions.zotero.useDataDir\", false);";
        assert_eq!(Prefs::parse(old).data_dir, None);
    }

    #[test]
    fn the_newest_profile_is_read_and_the_default_holds_without_one() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(default_dir(home.path()), home.path().join("Zotero"));
        let profile = home.path().join(".zotero/zotero/abcd.default");
        std::fs::create_dir_all(&profile).unwrap();
        std::fs::write(
            profile.join("prefs.js"),
            "user_pref(\"extensions.zotero.dataDir\", \"/srv/zotero\");\n",
        )
        .unwrap();
        assert_eq!(default_dir(home.path()), PathBuf::from("/srv/zotero"));
    }
}
