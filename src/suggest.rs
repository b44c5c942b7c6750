//! "Did you mean": the closest of a list of names to one that is not there,
//! for errors that name something missing (a folder, an option value).
//!
//! A case slip wins over everything (`sent` for `Sent`); otherwise the
//! name at the smallest edit distance, when it is small for the name's
//! length, so that an unrelated name is never offered.

/// The candidate closest to `wanted`, if one is close enough.
pub fn closest<'a, I, S>(wanted: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + 'a + ?Sized,
{
    let candidates: Vec<&str> = candidates.into_iter().map(AsRef::as_ref).collect();
    if let Some(same) = candidates
        .iter()
        .find(|c| c.to_lowercase() == wanted.to_lowercase())
    {
        return Some(same);
    }
    let limit = (wanted.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (edit_distance(&wanted.to_lowercase(), &c.to_lowercase()), *c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// The names of `candidates`, quoted and joined for an error message, at
/// most `max` of them.
pub fn list<I, S>(candidates: I, max: usize) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let all: Vec<String> = candidates
        .into_iter()
        .map(|c| format!("`{}`", c.as_ref()))
        .collect();
    if all.len() > max {
        format!("{}, and {} more", all[..max].join(", "), all.len() - max)
    } else {
        all.join(", ")
    }
}

/// The error for a folder that is not in `place` (exit 2): which folders
/// are there, and the closest to the one asked for.
pub fn missing_folder<S: AsRef<str>>(wanted: &str, place: &str, available: &[S]) -> anyhow::Error {
    let mut text = format!("folder `{wanted}` does not exist in `{place}`");
    if let Some(close) = closest(wanted, available) {
        text.push_str(&format!("; did you mean `{close}`?"));
    }
    if available.is_empty() {
        text.push_str(" It holds no folders.");
    } else {
        text.push_str(&format!(" It has {}.", list(available, 12)));
    }
    crate::exit::usage(text)
}

/// Edit distance over characters, a swap of two neighbours counting as one
/// edit (optimal string alignment): `Snet` is one edit from `Sent`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_slip_or_a_small_typo_finds_its_name_and_nothing_else_does() {
        let folders = ["INBOX", "Sent", "Archive/2023", "Drafts", "Entwürfe"];
        let cases = [
            ("sent", Some("Sent")),
            ("SENT", Some("Sent")),
            ("Snet", Some("Sent")),
            ("Archive/2032", Some("Archive/2023")),
            ("Draft", Some("Drafts")),
            ("entwurfe", Some("Entwürfe")),
            ("Spam", None),
            ("x", None),
            ("Completely different", None),
        ];
        for (wanted, expected) in cases {
            assert_eq!(closest(wanted, &folders), expected, "{wanted}");
        }
    }

    #[test]
    fn lists_are_quoted_and_cut_short() {
        assert_eq!(list(["a", "b"], 5), "`a`, `b`");
        assert_eq!(list(["a", "b", "c"], 2), "`a`, `b`, and 1 more");
    }

    #[test]
    fn edit_distances_count_characters() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ü", "u"), 1);
        assert_eq!(edit_distance("snet", "sent"), 1);
    }
}
