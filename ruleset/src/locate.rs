//! Where things are in a YAML rule file. serde_yaml gives values without
//! positions, so a light scan of the text finds each top-level item, each of
//! its keys, and maps an offset inside a condition string (plain, quoted or
//! block scalar, folded or literal) back to a line and column.

/// The text segments a scalar value was assembled from: (0-based line,
/// 0-based column, byte length) per source line, in order; values are joined
/// with one character (a space or newline) between lines.
#[derive(Clone, Debug, Default)]
pub struct ValueLoc {
    /// Segments.
    pub segs: Vec<(usize, usize, usize)>,
    /// Whether the scalar was quoted (offsets skip the opening quote).
    pub quoted: bool,
}

impl ValueLoc {
    /// The 1-based (line, column) of byte `off` of the value.
    pub fn pos(&self, off: usize) -> (usize, usize) {
        let mut left = off;
        for &(line, col, len) in &self.segs {
            if left <= len {
                return (
                    line + 1,
                    col + left + 1 + usize::from(self.quoted && line == self.segs[0].0),
                );
            }
            left -= len + 1;
        }
        match self.segs.last() {
            Some(&(line, col, len)) => (line + 1, col + len + 1),
            None => (0, 0),
        }
    }
}

/// One key of an item.
#[derive(Clone, Debug, Default)]
pub struct KeyLoc {
    /// 0-based line of the key.
    pub line: usize,
    /// 0-based column of the key.
    pub col: usize,
    /// Where its scalar value is.
    pub value: ValueLoc,
}

/// One top-level item.
#[derive(Clone, Debug, Default)]
pub struct ItemLoc {
    /// 0-based line of the item's `-`.
    pub line: usize,
    /// Keys by name.
    pub keys: Vec<(String, KeyLoc)>,
}

impl ItemLoc {
    /// The location of `key`, if the item has it.
    pub fn key(&self, key: &str) -> Option<&KeyLoc> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start_matches(' ').len()
}

/// Finds the top-level items of every YAML document in `src`.
pub fn locate(src: &str) -> Vec<Vec<ItemLoc>> {
    let lines: Vec<&str> = src.lines().collect();
    let mut docs = vec![Vec::new()];
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.starts_with("---") {
            if !docs.last().is_some_and(|d: &Vec<ItemLoc>| d.is_empty()) || i > 0 {
                docs.push(Vec::new());
            }
            i += 1;
            continue;
        }
        if l.starts_with("- ") || l == "-" {
            let start = i;
            let mut end = i + 1;
            while end < lines.len() {
                let m = lines[end];
                if m.starts_with("- ")
                    || m == "-"
                    || m.starts_with("---")
                    || (!m.is_empty() && !m.starts_with(' ') && !m.starts_with('#'))
                {
                    break;
                }
                end += 1;
            }
            if let Some(d) = docs.last_mut() {
                d.push(item(&lines, start, end));
            }
            i = end;
            continue;
        }
        i += 1;
    }
    if docs.len() > 1 && docs[0].is_empty() {
        docs.remove(0);
    }
    docs
}

fn item(lines: &[&str], start: usize, end: usize) -> ItemLoc {
    let mut it = ItemLoc {
        line: start,
        keys: Vec::new(),
    };
    let key_indent = 2;
    let mut i = start;
    while i < end {
        let raw = lines[i];
        let body_col = if i == start { 2 } else { indent(raw) };
        if body_col != key_indent || raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            i += 1;
            continue;
        }
        let body = &raw[body_col.min(raw.len())..];
        let Some(colon) = body.find(':') else {
            i += 1;
            continue;
        };
        let key = &body[..colon];
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            i += 1;
            continue;
        }
        let after = &body[colon + 1..];
        let vstart = body_col + colon + 1 + (after.len() - after.trim_start().len());
        let rest = after.trim();
        let mut value = ValueLoc::default();
        let mut j = i + 1;
        if rest.starts_with('>') || rest.starts_with('|') {
            let mut content_indent = None;
            while j < end {
                let m = lines[j];
                if m.trim().is_empty() {
                    j += 1;
                    continue;
                }
                if indent(m) <= key_indent {
                    break;
                }
                let ci = *content_indent.get_or_insert(indent(m));
                let text = m.get(ci.min(m.len())..).unwrap_or("").trim_end();
                value.segs.push((j, ci, text.len()));
                j += 1;
            }
        } else if !rest.is_empty() {
            value.quoted = rest.starts_with('"') || rest.starts_with('\'');
            value.segs.push((i, vstart, rest.len()));
            while j < end {
                let m = lines[j];
                if m.trim().is_empty() || indent(m) <= key_indent {
                    break;
                }
                let ci = indent(m);
                value.segs.push((j, ci, m.trim().len()));
                j += 1;
            }
        }
        it.keys.push((
            key.to_string(),
            KeyLoc {
                line: i,
                col: body_col,
                value,
            },
        ));
        i = j.max(i + 1);
    }
    it
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_items_keys_and_positions_in_block_and_plain_scalars() {
        let src = "# c\n- rule: A\n  desc: x\n  condition: >\n    evt.type = open\n    and proc.nme = x\n  output: o\n\n- macro: m\n  condition: proc.name = bash\n---\n- list: l\n  items: [a, b]\n";
        let docs = locate(src);
        assert_eq!(docs.len(), 2);
        let a = &docs[0][0];
        assert_eq!(a.line, 1);
        let c = a.key("condition").expect("condition");
        // "evt.type = open and proc.nme = x": offset of proc.nme is 20.
        assert_eq!(c.value.pos(20), (6, 9));
        assert_eq!(c.value.pos(0), (5, 5));
        let m = docs[0][1].key("condition").expect("macro condition");
        assert_eq!(m.value.pos(0), (10, 14));
        assert_eq!(docs[1][0].key("items").map(|k| k.line), Some(12));
    }
}
