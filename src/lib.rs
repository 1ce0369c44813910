//! bqcheck: check BigQuery tables in CI and on a laptop with the same commands.
//!
//! Data flows one way: `cli` → `app` → `input` → `runner` → `warehouse` → `checks` → `report`
//! → `github`; `commands` is each check's glue. See `docs/ARCHITECTURE.md`. Everything is
//! crate-private but the entry points and what the integration tests call.

pub mod app;
pub(crate) mod cancel;
pub(crate) mod checks;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod config;
pub mod github;
pub mod input;
pub mod model;
pub mod report;
pub(crate) mod runner;
pub mod warehouse;

#[cfg(test)]
mod layering {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Each top-level module and the modules its code (tests left out) imports.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in files {
            let rel = f
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let top = rel
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string();
            if top == "lib" || top == "bin" {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            let entry = deps.entry(top.clone()).or_default();
            for part in code.split("crate::").skip(1) {
                let m: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !m.is_empty() && m != top {
                    entry.insert(m);
                }
            }
        }
        deps
    }

    #[test]
    fn modules_import_each_other_without_cycles() {
        let deps = imports();
        assert!(deps.len() >= 10, "{deps:?}");
        // Depth-first search; a module met again while on the stack closes a cycle.
        fn visit(
            m: &str,
            deps: &BTreeMap<String, BTreeSet<String>>,
            stack: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) {
            if let Some(i) = stack.iter().position(|s| s == m) {
                panic!("import cycle: {} -> {m}", stack[i..].join(" -> "));
            }
            if done.contains(m) {
                return;
            }
            stack.push(m.to_string());
            for d in deps.get(m).into_iter().flatten() {
                visit(d, deps, stack, done);
            }
            stack.pop();
            done.insert(m.to_string());
        }
        let mut done = BTreeSet::new();
        for m in deps.keys() {
            visit(m, &deps, &mut Vec::new(), &mut done);
        }
        // The leaves stay leaves.
        assert_eq!(deps["model"], BTreeSet::new(), "model imports nothing");
        assert!(!deps["cli"].contains("app") && !deps["cli"].contains("commands"));
    }
}
