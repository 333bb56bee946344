//! Test support: text compared with a committed file under shared/tests/snapshots/;
//! `UPDATE_SNAPSHOTS=1` rewrites the file (review the diff).

use crate::notify::Notice;

pub(crate) fn assert_snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing snapshot {}: run with UPDATE_SNAPSHOTS=1 and review it", path.display()));
    assert_eq!(actual, expected, "snapshot {name} differs (UPDATE_SNAPSHOTS=1 rewrites it; review the diff)");
}

/// A notice as a subscriber reads it: subject, attributes, body.
pub(crate) fn notice_text(notice: &Notice) -> String {
    format!("Subject: {}\nAttributes: {:?}\n\n{}", notice.subject(), notice.attributes(), notice.body())
}
