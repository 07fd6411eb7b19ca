//! parse -> print -> parse gives the same tree, and every error kind has its span.

use rulelang::{parse_condition, ErrorKind, Expr, Op, Rhs};

fn rt(src: &str) -> String {
    let a = parse_condition(src).unwrap_or_else(|e| panic!("{src}: {e} at {:?}", e.span));
    let printed = a.to_string();
    let b = parse_condition(&printed).unwrap_or_else(|e| panic!("reparse {printed}: {e}"));
    assert_eq!(printed, b.to_string(), "not a fixed point: {src}");
    printed
}

#[test]
fn conditions_round_trip_canonically() {
    let cases = [
        ("evt.type=open", "evt.type = open"),
        (
            "evt.type in (open, openat) and not proc.name in (bash, \"my sh\")",
            "evt.type in (open, openat) and not proc.name in (bash, \"my sh\")",
        ),
        ("(a or b) and c", "(a or b) and c"),
        ("a or (b and c)", "a or b and c"),
        ("a and (b and c)", "a and b and c"),
        ("not (a or b)", "not (a or b)"),
        (
            "proc.aname[2] startswith /usr/bin",
            "proc.aname[2] startswith /usr/bin",
        ),
        (
            "tolower(basename(fd.name)) = passwd",
            "tolower(basename(fd.name)) = passwd",
        ),
        ("proc.pid != val(proc.ppid)", "proc.pid != val(proc.ppid)"),
        (
            "fd.name pmatch (/etc, /usr/bin)",
            "fd.name pmatch (/etc, /usr/bin)",
        ),
        ("proc.name exists", "proc.name exists"),
        (
            "evt.arg.flags contains O_CREAT",
            "evt.arg.flags contains O_CREAT",
        ),
        (
            "proc.cmdline contains 'a \"q\"'",
            "proc.cmdline contains \"a \\\"q\\\"\"",
        ),
        ("fd.net = \"127.0.0.0/8\"", "fd.net = \"127.0.0.0/8\""),
        (
            "container.mount.dest[/var/run/docker.sock] exists",
            "container.mount.dest[/var/run/docker.sock] exists",
        ),
        ("evt.rawres >= 0", "evt.rawres >= 0"),
        (
            "proc.name in shell_binaries",
            "proc.name in (shell_binaries)",
        ),
        ("x in ()", "x in ()"),
    ];
    for (src, want) in cases {
        assert_eq!(rt(src), want, "{src}");
    }
}

#[test]
fn operators_and_values_are_recognised() {
    let e = parse_condition("fd.name glob '/tmp/*' and evt.arg[0] < 3").expect("parses");
    let Expr::And(xs) = e else { panic!("and") };
    let Expr::Check(c) = &xs[0] else {
        panic!("check")
    };
    assert_eq!(c.op, Op::Glob);
    assert!(matches!(&c.rhs, Rhs::Value(v) if v.text == "/tmp/*" && v.quoted));
    let Expr::Check(c) = &xs[1] else {
        panic!("check")
    };
    assert_eq!(
        (c.lhs.name.as_str(), c.lhs.arg.as_deref(), c.op),
        ("evt.arg", Some("0"), Op::Lt)
    );
}

#[test]
fn macros_are_words_without_operators() {
    let e = parse_condition("spawned_process and not proc.name = x").expect("parses");
    let mut macros = Vec::new();
    e.visit_macros(&mut |m, s| macros.push((m.to_string(), s.start, s.end)));
    assert_eq!(macros, vec![("spawned_process".to_string(), 0, 15)]);
}

/// Every error kind, with the span it must point at.
#[test]
fn error_catalogue_with_spans() {
    let cases: &[(&str, ErrorKind, (usize, usize))] = &[
        ("", ErrorKind::ExpectedCondition, (0, 0)),
        (
            "evt.type = open and",
            ErrorKind::ExpectedCondition,
            (19, 20),
        ),
        ("(evt.type = open", ErrorKind::ExpectedCloseParen, (16, 17)),
        ("proc.name =", ErrorKind::ExpectedValue, (11, 12)),
        ("proc.name in (a b)", ErrorKind::ExpectedListSep, (16, 17)),
        (
            "proc.name = \"bash",
            ErrorKind::UnterminatedString,
            (12, 17),
        ),
        (
            "proc.aname[2 = x",
            ErrorKind::ExpectedCloseBracket,
            (10, 16),
        ),
        ("proc.name = bash )", ErrorKind::TrailingInput, (17, 18)),
        ("proc.aname[2]", ErrorKind::ExpectedOperator, (13, 14)),
        (
            "tolower(proc.name = x",
            ErrorKind::ExpectedTransformerClose,
            (18, 19),
        ),
        (
            "proc.pid = val(proc.ppid",
            ErrorKind::ExpectedValField,
            (24, 25),
        ),
        ("and x", ErrorKind::ExpectedCondition, (0, 3)),
        ("proc.name in (a,", ErrorKind::ExpectedValue, (16, 17)),
    ];
    for (src, kind, (s, e)) in cases {
        let err = parse_condition(src).expect_err(src);
        assert_eq!(&err.kind, kind, "{src}");
        assert_eq!((err.span.start, err.span.end), (*s, *e), "{src}: {kind:?}");
    }
    let deep = "(".repeat(300) + "a" + &")".repeat(300);
    assert_eq!(
        parse_condition(&deep).expect_err("deep").kind,
        ErrorKind::TooDeep
    );
}

#[test]
fn hostile_input_never_panics() {
    let mut x: u64 = 7;
    let alphabet = b"()\"' ,=!<>[]abcnotdrx.09_-\\\n\xc3\xa9";
    for _ in 0..20_000 {
        let mut s = Vec::new();
        for _ in 0..(x % 40) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        let s = String::from_utf8_lossy(&s);
        if let Ok(e) = parse_condition(&s) {
            let printed = e.to_string();
            let again = parse_condition(&printed)
                .unwrap_or_else(|err| panic!("{s:?} -> {printed:?}: {err}"));
            assert_eq!(again.to_string(), printed, "{s:?}");
        }
    }
}
