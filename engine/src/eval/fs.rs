//! `fs.path.*`: paths an event names (opened, linked, renamed).

use super::*;

/// An `fs.*` field.
pub(super) fn extract<'c>(f: F, r: &FieldRef, cx: &'c EvCtx<'_>) -> Val<'c> {
    let na = Val::NA;
    match f {
        F::FsPathName => match cx.path() {
            Some(pth) => Val::Str(Cow::Borrowed(pth)),
            None => ["path", "name", "filename", "pathname"]
                .iter()
                .find_map(|n| match cx.args.get(n) {
                    Some(ArgValue::Str(b)) => Some(Val::Str(String::from_utf8_lossy(b))),
                    _ => None,
                })
                .unwrap_or(na),
        },
        F::FsPathSource | F::FsPathTarget => {
            let names: &[&str] = if f == F::FsPathSource {
                &["oldpath", "target"]
            } else {
                &["newpath", "linkpath"]
            };
            names
                .iter()
                .find_map(|n| match cx.args.get(n) {
                    Some(ArgValue::Str(b)) => Some(Val::Str(String::from_utf8_lossy(b))),
                    _ => None,
                })
                .unwrap_or(na)
        }
        _ => super::proc::default(f, r, cx),
    }
}
