//! All the rules of a run as one DAG: identical subconditions of different
//! rules (the `open_write`, `spawned_process`, `container` macros that most
//! upstream rules start with, the same `proc.name in (...)` list) become one
//! node, evaluated at most once per event whatever the number of rules that
//! use it. Each rule is a root in the shared DAG.
//!
//! Nodes are interned bottom-up by structure: a check by its field,
//! operator and operand, an `and`/`or`/`not` by its operator and its
//! (already interned) children. A node reached from several parents, within
//! one rule or across rules, gets a memo slot; slots are stamped with the
//! event's generation, so nothing is cleared between events.

use ruleset::compile::{CheckNode, Node, NodeId, Program};
use ruleset::CompiledRule;

use crate::eval::{check, EvCtx};

/// A node of the shared DAG.
enum SNode<'r> {
    And(Vec<u32>),
    Or(Vec<u32>),
    Not(u32),
    Check(&'r CheckNode),
}

/// The rules of a run compiled into one DAG.
pub struct SharedRules<'r> {
    nodes: Vec<SNode<'r>>,
    /// Memo slot of each node (`u32::MAX`: none).
    slots: Vec<u32>,
    nslots: usize,
    /// The root of each rule, in the rules' order.
    roots: Vec<u32>,
    /// For each rule whose root is an `and`: the memo slots of its shared
    /// children. One of them already false for this event (another rule
    /// evaluated it) decides the rule without walking it.
    guards: Vec<Vec<u32>>,
}

#[derive(Hash, PartialEq, Eq)]
enum Key<'r> {
    And(Vec<u32>),
    Or(Vec<u32>),
    Not(u32),
    /// By structure ([`CheckNode`]'s equality).
    Check(&'r CheckNode),
}

impl<'r> SharedRules<'r> {
    /// Interns every rule's program.
    pub fn new(rules: &'r [CompiledRule]) -> SharedRules<'r> {
        let mut nodes: Vec<SNode<'r>> = Vec::new();
        // A check's regex caches matches inside; its key is its pattern
        // text, which never changes.
        #[allow(clippy::mutable_key_type)]
        let mut keys: rustc_hash::FxHashMap<Key<'r>, u32> = Default::default();
        let mut roots = Vec::with_capacity(rules.len());
        for r in rules {
            let p: &'r Program = &r.program;
            // Children come before parents in a program.
            let mut map: Vec<u32> = Vec::with_capacity(p.nodes.len());
            for n in &p.nodes {
                let m = |ids: &[NodeId]| ids.iter().map(|i| map[*i as usize]).collect::<Vec<_>>();
                let (key, node) = match n {
                    Node::And(xs) => (Key::And(m(xs)), SNode::And(m(xs))),
                    Node::Or(xs) => (Key::Or(m(xs)), SNode::Or(m(xs))),
                    Node::Not(x) => (Key::Not(map[*x as usize]), SNode::Not(map[*x as usize])),
                    Node::Check(c) => (Key::Check(c), SNode::Check(c)),
                };
                let id = *keys.entry(key).or_insert_with(|| {
                    nodes.push(node);
                    (nodes.len() - 1) as u32
                });
                map.push(id);
            }
            roots.push(map.get(p.root as usize).copied().unwrap_or(0));
        }
        // Parents per node: edges within the DAG plus rule roots.
        let mut parents = vec![0u32; nodes.len()];
        for n in &nodes {
            match n {
                SNode::And(xs) | SNode::Or(xs) => {
                    for x in xs {
                        parents[*x as usize] += 1;
                    }
                }
                SNode::Not(x) => parents[*x as usize] += 1,
                SNode::Check(_) => {}
            }
        }
        for r in &roots {
            parents[*r as usize] += 1;
        }
        let mut nslots = 0;
        let slots: Vec<u32> = parents
            .iter()
            .map(|&n| {
                if n > 1 {
                    nslots += 1;
                    (nslots - 1) as u32
                } else {
                    u32::MAX
                }
            })
            .collect();
        let guards = roots
            .iter()
            .map(|&r| match &nodes[r as usize] {
                SNode::And(xs) => xs
                    .iter()
                    .map(|&x| slots[x as usize])
                    .filter(|&s| s != u32::MAX)
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        SharedRules {
            nodes,
            slots,
            nslots,
            roots,
            guards,
        }
    }

    /// Nodes in the shared DAG.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Nodes with a memo slot (shared by several parents or rules).
    pub fn shared(&self) -> usize {
        self.nslots
    }

    /// A memo for one thread's evaluations.
    pub fn memo(&self) -> Memo {
        // Stamps of generation 0 never match: the first event is 1.
        Memo {
            stamps: vec![0; self.nslots],
            gen: 0,
        }
    }

    /// Whether rule `i` matches the event in `cx`. Calls for one event must
    /// share `memo` after one [`Memo::next_event`].
    pub fn matches(&self, i: usize, cx: &EvCtx<'_>, memo: &mut Memo) -> bool {
        for &slot in &self.guards[i] {
            let s = memo.stamps[slot as usize];
            if s >> 1 == memo.gen && s & 1 == 0 {
                return false;
            }
        }
        self.eval(self.roots[i], cx, memo)
    }

    fn eval(&self, id: u32, cx: &EvCtx<'_>, memo: &mut Memo) -> bool {
        let slot = self.slots[id as usize];
        if slot != u32::MAX {
            let s = memo.stamps[slot as usize];
            if s >> 1 == memo.gen {
                return s & 1 == 1;
            }
        }
        let r = match &self.nodes[id as usize] {
            SNode::And(xs) => xs.iter().all(|x| self.eval(*x, cx, memo)),
            SNode::Or(xs) => xs.iter().any(|x| self.eval(*x, cx, memo)),
            SNode::Not(x) => !self.eval(*x, cx, memo),
            SNode::Check(c) => check(c, cx),
        };
        if slot != u32::MAX {
            memo.stamps[slot as usize] = memo.gen << 1 | u32::from(r);
        }
        r
    }
}

/// Per-thread memo of shared nodes, valid for one event at a time.
pub struct Memo {
    stamps: Vec<u32>,
    gen: u32,
}

impl Memo {
    /// Forgets the previous event's results (call before each event).
    pub fn next_event(&mut self) {
        self.gen += 1;
        if self.gen >= 1 << 31 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.gen = 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<CompiledRule> {
        let mut set = ruleset::load_rules_str("t.yaml", text, &ruleset::Selection::default());
        assert_eq!(set.errors(), 0, "{:?}", set.diagnostics);
        set.take_enabled()
    }

    /// Rules that use the same macro share its nodes; checks that differ in
    /// field, operator or operand (a list member, a regex, a set's order)
    /// stay apart.
    #[test]
    fn identical_checks_are_shared_and_different_ones_are_not() {
        let text = r#"
- macro: opened
  condition: evt.type in (open, openat) and evt.dir = <
- rule: a
  desc: a
  condition: opened and fd.name startswith /etc
  output: a
  priority: WARNING
- rule: b
  desc: b
  condition: opened and fd.name startswith /etc
  output: b
  priority: WARNING
- rule: c
  desc: c
  condition: opened and fd.name startswith /var
  output: c
  priority: WARNING
- rule: d
  desc: d
  condition: opened and proc.name in (a, b)
  output: d
  priority: WARNING
- rule: e
  desc: e
  condition: opened and proc.name in (b, a)
  output: e
  priority: WARNING
- rule: f
  desc: f
  condition: opened and fd.name regex "^/e"
  output: f
  priority: WARNING
- rule: g
  desc: g
  condition: opened and fd.name regex "^/v"
  output: g
  priority: WARNING
"#;
        let compiled = rules(text);
        let shared = SharedRules::new(&compiled);
        // The macro: two checks and their `and`, once. Then the distinct
        // checks: startswith /etc (rules a and b), startswith /var, the two
        // sets, the two regexes: 6. Each rule's `and`: a and b share one;
        // the other five are distinct: 6.
        assert_eq!(shared.len(), 3 + 6 + 6);
        assert_eq!(shared.roots[0], shared.roots[1]);
        let distinct: std::collections::HashSet<u32> = shared.roots[1..].iter().copied().collect();
        assert_eq!(distinct.len(), 6);
    }
}
