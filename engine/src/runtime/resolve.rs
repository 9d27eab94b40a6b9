//! Which installed mods can run, and in which order: a pure function of their
//! manifests and the host's mod-API version.
//!
//! Like Fabric's loader, only the mods that cannot run are left out, and each
//! is left out with an error that names its file (and id) and says what to do:
//! install, update or remove a mod.
//!
//! Steps:
//! 1. each manifest on its own: readable, valid fields, unique id, a mod-API
//!    requirement this host meets;
//! 2. each manifest against the installed mods: required dependencies present
//!    in a matching version, present optional dependencies matching, no
//!    matching incompatible mod (among the mods that passed step 1);
//! 3. a mod whose required (or present optional) dependency cannot run cannot
//!    run either, to a fixpoint;
//! 4. every mod on a cycle of "loads before" edges (dependencies, `load_before`,
//!    `load_after`, between mods still in) is left out, then step 3 again;
//! 5. the rest in topological order, smallest id first among the ready ones.
//!
//! A mod's references to its own id (a dependency on itself, an ordering hint
//! naming itself) are ignored.

use std::collections::{BTreeMap, HashMap, VecDeque};

use mod_api::manifest::{DependencyKind, Manifest};
use semver::{Op, Version, VersionReq};

/// One mod file's manifest, or why it could not be read (already a full
/// message naming the file).
#[derive(Clone, Debug)]
pub struct Candidate {
    pub file: String,
    pub manifest: Result<Manifest, String>,
}

/// What [`resolve`] decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Files that can run, in load order.
    pub order: Vec<String>,
    /// Files left out, each with an error that names the file and says what
    /// to install, update or remove. Sorted by file name.
    pub refused: Vec<Refused>,
}

/// A file left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub file: String,
    pub error: String,
}

/// One problem of a mod: the text of its error (after the file label) and a
/// short form, quoted in the errors of the mods that need it.
struct Problem {
    text: String,
    short: String,
}

/// A refused mod: its whole error and the short reason quoted by dependents.
struct Refusal {
    error: String,
    short: String,
}

/// A candidate whose manifest could be read.
struct Mod<'a> {
    file: &'a str,
    manifest: &'a Manifest,
    /// The id is valid (and so names the mod in messages and lookups).
    id_ok: bool,
    version: Option<Version>,
    /// Parsed requirement of each entry of `manifest.dependencies`.
    reqs: Vec<Option<VersionReq>>,
}

impl Mod<'_> {
    fn id(&self) -> &str {
        &self.manifest.id
    }

    /// `file (mod id)`, or the file alone when the id is not valid.
    fn label(&self) -> String {
        if self.id_ok { format!("{} (mod {})", self.file, self.manifest.id) } else { self.file.to_owned() }
    }

    /// How the fix messages call this mod.
    fn name(&self) -> &str {
        if self.id_ok { &self.manifest.id } else { "the mod" }
    }
}

/// Which manifest field a "loads before" edge comes from.
const FIELD_DEPENDENCIES: u8 = 1;
const FIELD_LOAD_BEFORE: u8 = 2;
const FIELD_LOAD_AFTER: u8 = 4;

/// Decides which of `candidates` can run under mod API `api`, and their load
/// order. See the module docs for the rules.
pub fn resolve(candidates: &[Candidate], api: &Version) -> Resolution {
    let mut refused = Vec::new();
    let mut mods = Vec::new();
    for candidate in candidates {
        match &candidate.manifest {
            Err(error) => refused.push(Refused { file: candidate.file.clone(), error: error.clone() }),
            Ok(manifest) => mods.push(Mod {
                file: &candidate.file,
                manifest,
                id_ok: valid_id(&manifest.id),
                version: Version::parse(&manifest.version).ok(),
                reqs: manifest.dependencies.iter().map(|d| VersionReq::parse(&d.version).ok()).collect(),
            }),
        }
    }

    // Mods by (valid) id; more than one entry is a duplicate id.
    let mut by_id: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, m) in mods.iter().enumerate() {
        if m.id_ok {
            by_id.entry(m.id()).or_default().push(i);
        }
    }

    // Step 1: each manifest on its own.
    let mut problems: Vec<Vec<Problem>> = mods.iter().map(|m| intrinsic_problems(m, api)).collect();
    for (id, same) in &by_id {
        if same.len() > 1 {
            let mut files: Vec<&str> = same.iter().map(|&i| mods[i].file).collect();
            files.sort_unstable();
            let text = if files.len() == 2 {
                format!("mods {} and {} both have id \"{id}\": remove one of them", files[0], files[1])
            } else {
                let (last, rest) = files.split_last().expect("more than one file");
                format!("mods {} and {last} all have id \"{id}\": remove all but one of them", rest.join(", "))
            };
            let short = format!("installed {} times", files.len());
            for &i in same {
                problems[i].push(Problem { text: text.clone(), short: short.clone() });
            }
        }
    }
    let intrinsic_ok: Vec<bool> = problems.iter().map(Vec::is_empty).collect();

    // Step 2: each manifest against the installed mods.
    for (i, m) in mods.iter().enumerate() {
        for (dep, req) in m.manifest.dependencies.iter().zip(&m.reqs) {
            let Some(req) = req else { continue };
            if dep.id == m.id() {
                continue;
            }
            let targets = by_id.get(dep.id.as_str()).map(Vec::as_slice).unwrap_or_default();
            // A single installed mod with a readable version; anything else
            // (absent aside) is for step 3 to report.
            let single = match targets {
                [t] => mods[*t].version.as_ref().map(|v| (&mods[*t], v)),
                _ => None,
            };
            let problem = match dep.kind {
                DependencyKind::Required if targets.is_empty() => {
                    let wanted = with_req(&dep.id, &dep.version, req);
                    Some(Problem {
                        text: format!("needs mod {wanted}, which is not installed: install {wanted}"),
                        short: format!("mod {} is not installed", dep.id),
                    })
                }
                DependencyKind::Required => match single {
                    Some((t, v)) if !req.matches(v) => {
                        let fix = if too_old(req, v) {
                            format!("update {} to a version matching {}", dep.id, dep.version.trim())
                        } else {
                            format!("install a version of {} matching {}", dep.id, dep.version.trim())
                        };
                        Some(Problem {
                            text: format!(
                                "needs mod {}, but {} {} is installed: {fix}",
                                with_req(&dep.id, &dep.version, req),
                                dep.id,
                                t.manifest.version
                            ),
                            short: format!(
                                "needs {}, {} {} is installed",
                                with_req(&dep.id, &dep.version, req),
                                dep.id,
                                t.manifest.version
                            ),
                        })
                    }
                    _ => None,
                },
                DependencyKind::Optional => match single {
                    Some((t, v)) if !req.matches(v) => Some(Problem {
                        text: format!(
                            "works with mod {}, but {} {} is installed: update or remove {}",
                            with_req(&dep.id, &dep.version, req),
                            dep.id,
                            t.manifest.version,
                            dep.id
                        ),
                        short: format!(
                            "works with {}, {} {} is installed",
                            with_req(&dep.id, &dep.version, req),
                            dep.id,
                            t.manifest.version
                        ),
                    }),
                    _ => None,
                },
                DependencyKind::Incompatible => targets
                    .iter()
                    .filter(|&&t| intrinsic_ok[t])
                    .find(|&&t| mods[t].version.as_ref().is_some_and(|v| req.matches(v)))
                    .map(|&t| Problem {
                        text: format!(
                            "is incompatible with mod {} {} (file {}): remove one of them",
                            dep.id, mods[t].manifest.version, mods[t].file
                        ),
                        short: format!("incompatible with mod {}", dep.id),
                    }),
            };
            problems[i].extend(problem);
        }
    }

    let mut state: Vec<Option<Refusal>> = mods
        .iter()
        .zip(problems)
        .map(|(m, problems)| {
            let first = problems.first()?;
            let texts: Vec<&str> = problems.iter().map(|p| p.text.as_str()).collect();
            Some(Refusal { error: format!("{}: {}", m.label(), texts.join("; ")), short: first.short.clone() })
        })
        .collect();

    // Who needs whom: dependency id -> mods that need it (required, or
    // optional and present), with whether it is optional.
    let mut dependents: HashMap<&str, Vec<(usize, bool)>> = HashMap::new();
    for (i, m) in mods.iter().enumerate() {
        for dep in &m.manifest.dependencies {
            let optional = match dep.kind {
                DependencyKind::Required => false,
                DependencyKind::Optional => true,
                DependencyKind::Incompatible => continue,
            };
            if dep.id != m.id() && by_id.contains_key(dep.id.as_str()) {
                dependents.entry(dep.id.as_str()).or_default().push((i, optional));
            }
        }
    }

    // Step 3: dependents of refused mods.
    let seeds: Vec<&str> =
        by_id.iter().filter(|(_, same)| same.iter().all(|&i| state[i].is_some())).map(|(id, _)| *id).collect();
    propagate(&mods, &by_id, &dependents, &mut state, seeds);

    // Step 4: cycles among the mods still in.
    let alive: Vec<usize> = (0..mods.len()).filter(|&i| state[i].is_none()).collect();
    let graph = Graph::new(&mods, &alive);
    let mut newly_refused = Vec::new();
    for component in graph.cycles() {
        let mut members: Vec<usize> = component;
        members.sort_unstable_by(|&a, &b| mods[graph.nodes[a]].id().cmp(mods[graph.nodes[b]].id()));
        let mut covered: HashMap<usize, Refusal> = HashMap::new();
        for &start in &members {
            if covered.contains_key(&start) {
                continue;
            }
            let (cycle, fields) = graph.shortest_cycle(start, &members);
            // Name it from its smallest id, so every mod on it reads the same.
            let names: Vec<&str> = cycle.iter().map(|&n| mods[graph.nodes[n]].id()).collect();
            let smallest = (0..names.len()).min_by_key(|&k| names[k]).unwrap_or(0);
            let mut path: Vec<&str> = names[smallest..].iter().chain(&names[..smallest]).copied().collect();
            path.push(path[0]);
            let path = path.join(" -> ");
            let fields = field_names(fields);
            for &n in &cycle {
                let m = &mods[graph.nodes[n]];
                covered.entry(n).or_insert_with(|| Refusal {
                    error: format!("{}: dependency cycle: {path} ({fields}): remove one of these mods", m.label()),
                    short: format!("dependency cycle {path}"),
                });
            }
        }
        for (n, refusal) in covered {
            let i = graph.nodes[n];
            state[i] = Some(refusal);
            newly_refused.push(mods[i].id());
        }
    }
    newly_refused.sort_unstable();
    propagate(&mods, &by_id, &dependents, &mut state, newly_refused);

    // Step 5: load order of the rest.
    let order = graph.load_order(&mods, &state).into_iter().map(|i| mods[i].file.to_owned()).collect();

    for (m, refusal) in mods.iter().zip(state) {
        if let Some(refusal) = refusal {
            refused.push(Refused { file: m.file.to_owned(), error: refusal.error });
        }
    }
    refused.sort_by(|a, b| a.file.cmp(&b.file));
    Resolution { order, refused }
}

/// Problems a manifest has on its own: its fields and the mod-API requirement.
fn intrinsic_problems(m: &Mod, api: &Version) -> Vec<Problem> {
    let mut problems = Vec::new();
    let manifest = m.manifest;
    if !m.id_ok {
        problems.push(Problem {
            text: format!(
                "field id: {:?} is not a valid id (lowercase letters, digits, - and _): rename it",
                manifest.id
            ),
            short: "its manifest field id is invalid".into(),
        });
    }
    if m.version.is_none() {
        problems.push(Problem {
            text: format!(
                "field version: {:?} is not a version (semver, e.g. \"1.2.0\"): fix the version",
                manifest.version
            ),
            short: "its manifest field version is invalid".into(),
        });
    }
    match VersionReq::parse(&manifest.api) {
        Err(_) => problems.push(bad_req("api", &manifest.api)),
        Ok(req) if !req.matches(api) => problems.push(Problem {
            text: format!(
                "needs mod API {}, this game has {api}: install a version of {} made for mod API {}.{}",
                manifest.api.trim(),
                m.name(),
                api.major,
                api.minor
            ),
            short: format!("needs mod API {}", manifest.api.trim()),
        }),
        Ok(_) => {}
    }
    for (k, (dep, req)) in manifest.dependencies.iter().zip(&m.reqs).enumerate() {
        if req.is_none() {
            problems.push(bad_req(&format!("dependencies[{k}].version"), &dep.version));
        }
    }
    problems
}

fn bad_req(field: &str, value: &str) -> Problem {
    Problem {
        text: format!(
            "field {field}: {value:?} is not a version requirement (semver, e.g. \"^1.2\"): fix the requirement"
        ),
        short: format!("its manifest field {field} is invalid"),
    }
}

/// Non-empty, only `a-z 0-9 - _`.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// `id req` as written, or `id` alone when any version will do.
fn with_req(id: &str, written: &str, req: &VersionReq) -> String {
    if req.comparators.is_empty() { id.to_owned() } else { format!("{id} {}", written.trim()) }
}

/// Whether `v` fails `req` for being below one of its lower bounds (so the fix
/// is an update).
fn too_old(req: &VersionReq, v: &Version) -> bool {
    req.comparators.iter().any(|c| match c.op {
        Op::Less | Op::LessEq => false,
        Op::Greater | Op::GreaterEq => {
            let release = Version::new(v.major, v.minor, v.patch);
            !c.matches(&release)
        }
        _ => {
            let mut lower = Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
            lower.pre = c.pre.clone();
            *v < lower
        }
    })
}

/// `field dependencies/load_after`, naming the fields the edges came from.
fn field_names(fields: u8) -> String {
    let names: Vec<&str> =
        [(FIELD_DEPENDENCIES, "dependencies"), (FIELD_LOAD_BEFORE, "load_before"), (FIELD_LOAD_AFTER, "load_after")]
            .into_iter()
            .filter(|(bit, _)| fields & bit != 0)
            .map(|(_, name)| name)
            .collect();
    let plural = if names.len() > 1 { "fields" } else { "field" };
    format!("{plural} {}", names.join("/"))
}

/// Refuses, to a fixpoint, every mod still in that needs a mod that cannot
/// run, starting from the ids in `seeds` (ids none of whose files can run).
fn propagate<'a>(
    mods: &[Mod<'a>],
    by_id: &BTreeMap<&'a str, Vec<usize>>,
    dependents: &HashMap<&'a str, Vec<(usize, bool)>>,
    state: &mut [Option<Refusal>],
    seeds: Vec<&'a str>,
) {
    let mut queue: VecDeque<&str> = seeds.into();
    while let Some(id) = queue.pop_front() {
        let short = by_id[id]
            .iter()
            .find_map(|&t| state[t].as_ref())
            .map(|r| r.short.clone())
            .unwrap_or_else(|| "see its error".into());
        for &(i, optional) in dependents.get(id).map(Vec::as_slice).unwrap_or_default() {
            if state[i].is_some() {
                continue;
            }
            let m = &mods[i];
            let error = if optional {
                format!("{}: works with mod {id}, which cannot run ({short}): fix or remove {id}", m.label())
            } else {
                format!("{}: needs mod {id}, which cannot run ({short}): fix {id} first", m.label())
            };
            state[i] = Some(Refusal { error, short: short.clone() });
            // A mod still in has a unique, valid id.
            queue.push_back(m.id());
        }
    }
}

/// "Loads before" edges between the mods still in after step 3.
struct Graph {
    /// Node -> index in `mods`.
    nodes: Vec<usize>,
    /// `after[n]`: nodes that load after `n` (edges `n -> m`).
    after: Vec<Vec<usize>>,
    /// `needs[n]`: nodes that load before `n`, with the fields the edge comes
    /// from (the cycle-message direction: dependent -> dependency).
    needs: Vec<Vec<(usize, u8)>>,
}

impl Graph {
    fn new(mods: &[Mod], alive: &[usize]) -> Graph {
        let node_of: HashMap<&str, usize> = alive.iter().enumerate().map(|(n, &i)| (mods[i].id(), n)).collect();
        let mut edges: BTreeMap<(usize, usize), u8> = BTreeMap::new();
        for (n, &i) in alive.iter().enumerate() {
            let m = mods[i].manifest;
            let mut add = |id: &str, first_is_other: bool, field: u8| {
                if let Some(&other) = node_of.get(id)
                    && other != n
                {
                    let edge = if first_is_other { (other, n) } else { (n, other) };
                    *edges.entry(edge).or_default() |= field;
                }
            };
            for dep in &m.dependencies {
                if dep.kind != DependencyKind::Incompatible {
                    add(&dep.id, true, FIELD_DEPENDENCIES);
                }
            }
            for id in &m.load_before {
                add(id, false, FIELD_LOAD_BEFORE);
            }
            for id in &m.load_after {
                add(id, true, FIELD_LOAD_AFTER);
            }
        }
        let mut after = vec![Vec::new(); alive.len()];
        let mut needs = vec![Vec::new(); alive.len()];
        for ((first, then), fields) in edges {
            after[first].push(then);
            needs[then].push((first, fields));
        }
        Graph { nodes: alive.to_vec(), after, needs }
    }

    /// Strongly connected components with more than one node (there are no
    /// self-loops): exactly the nodes on some cycle. Tarjan's algorithm,
    /// iterative.
    fn cycles(&self) -> Vec<Vec<usize>> {
        let n = self.nodes.len();
        let mut index: Vec<Option<usize>> = vec![None; n];
        let mut low = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut next = 0;
        let mut components = Vec::new();
        for root in 0..n {
            if index[root].is_some() {
                continue;
            }
            let mut calls = vec![(root, 0)];
            index[root] = Some(next);
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some((v, edge)) = calls.last_mut() {
                let v = *v;
                if let Some(&w) = self.after[v].get(*edge) {
                    *edge += 1;
                    match index[w] {
                        None => {
                            index[w] = Some(next);
                            low[w] = next;
                            next += 1;
                            stack.push(w);
                            on_stack[w] = true;
                            calls.push((w, 0));
                        }
                        Some(iw) if on_stack[w] => low[v] = low[v].min(iw),
                        Some(_) => {}
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    low[u] = low[u].min(low[v]);
                }
                if Some(low[v]) == index[v] {
                    let mut component = Vec::new();
                    loop {
                        let w = stack.pop().expect("v is on the stack");
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        components.push(component);
                    }
                }
            }
        }
        components
    }

    /// A shortest cycle through `start` within `component` (which holds
    /// one), following `needs` edges: the nodes in order from `start`, and
    /// the fields of its edges.
    fn shortest_cycle(&self, start: usize, component: &[usize]) -> (Vec<usize>, u8) {
        let in_component: HashMap<usize, ()> = component.iter().map(|&c| (c, ())).collect();
        let mut parent: HashMap<usize, (usize, u8)> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        'search: while let Some(v) = queue.pop_front() {
            for &(w, fields) in &self.needs[v] {
                if !in_component.contains_key(&w) || parent.contains_key(&w) {
                    continue;
                }
                parent.insert(w, (v, fields));
                if w == start {
                    break 'search;
                }
                queue.push_back(w);
            }
        }
        // Walk back from `start` to itself.
        let mut cycle = Vec::new();
        let mut fields = 0;
        let mut v = start;
        loop {
            let (p, f) = parent[&v];
            fields |= f;
            cycle.push(p);
            v = p;
            if v == start {
                break;
            }
        }
        // `cycle` is the walk backwards, ending with `start`.
        cycle.reverse();
        (cycle, fields)
    }

    /// The nodes still in, dependencies first, otherwise by id (cycles were
    /// left out by step 4). Indices into `mods`.
    fn load_order(&self, mods: &[Mod], state: &[Option<Refusal>]) -> Vec<usize> {
        let alive: Vec<usize> = (0..self.nodes.len()).filter(|&n| state[self.nodes[n]].is_none()).collect();
        let local: HashMap<usize, usize> = alive.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let edges: Vec<(usize, usize)> = alive
            .iter()
            .enumerate()
            .flat_map(|(i, &n)| self.after[n].iter().filter_map(|m| local.get(m)).map(move |&j| (i, j)))
            .collect();
        let id = |i: usize| mods[self.nodes[alive[i]]].id();
        // A cycle left would be a bug in step 4; its mods then load last, by id.
        let order = super::topo::order(alive.len(), &edges, id).unwrap_or_else(|_| {
            let mut all: Vec<usize> = (0..alive.len()).collect();
            all.sort_by_key(|&i| id(i));
            all
        });
        order.into_iter().map(|i| self.nodes[alive[i]]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mod_api::manifest::Dependency;

    const API: Version = Version::new(1, 3, 0);

    /// A valid manifest `id` `version` for mod API `^1.2`, file `{id}.wasm`.
    fn mod_(id: &str, version: &str) -> Manifest {
        Manifest {
            id: id.into(),
            name: id.into(),
            version: version.into(),
            authors: vec![],
            description: String::new(),
            api: "^1.2".into(),
            dependencies: vec![],
            load_before: vec![],
            load_after: vec![],
        }
    }

    trait Build {
        fn dep(self, id: &str, version: &str, kind: DependencyKind) -> Self;
        fn needs(self, id: &str, version: &str) -> Self;
        fn after(self, id: &str) -> Self;
        fn before(self, id: &str) -> Self;
    }

    impl Build for Manifest {
        fn dep(mut self, id: &str, version: &str, kind: DependencyKind) -> Self {
            self.dependencies.push(Dependency { id: id.into(), version: version.into(), kind });
            self
        }
        fn needs(self, id: &str, version: &str) -> Self {
            self.dep(id, version, DependencyKind::Required)
        }
        fn after(mut self, id: &str) -> Self {
            self.load_after.push(id.into());
            self
        }
        fn before(mut self, id: &str) -> Self {
            self.load_before.push(id.into());
            self
        }
    }

    fn run(manifests: Vec<Manifest>) -> Resolution {
        let candidates: Vec<Candidate> =
            manifests.into_iter().map(|m| Candidate { file: format!("{}.wasm", m.id), manifest: Ok(m) }).collect();
        resolve(&candidates, &API)
    }

    fn error<'a>(resolution: &'a Resolution, file: &str) -> &'a str {
        match resolution.refused.iter().find(|r| r.file == file) {
            Some(r) => &r.error,
            None => panic!("{file} not refused: {resolution:?}"),
        }
    }

    fn refused_files(resolution: &Resolution) -> Vec<&str> {
        resolution.refused.iter().map(|r| r.file.as_str()).collect()
    }

    #[test]
    fn all_fine_runs_all_by_id() {
        let r = run(vec![mod_("c", "1.0.0"), mod_("a", "1.0.0"), mod_("b", "1.0.0")]);
        assert_eq!(r.order, ["a.wasm", "b.wasm", "c.wasm"]);
        assert!(r.refused.is_empty());
    }

    #[test]
    fn unreadable_manifest_is_refused_as_is() {
        let candidates = vec![
            Candidate { file: "x.wasm".into(), manifest: Err("x.wasm: no manifest: rebuild it".into()) },
            Candidate { file: "a.wasm".into(), manifest: Ok(mod_("a", "1.0.0")) },
        ];
        let r = resolve(&candidates, &API);
        assert_eq!(r.refused, [Refused { file: "x.wasm".into(), error: "x.wasm: no manifest: rebuild it".into() }]);
        assert_eq!(r.order, ["a.wasm"]);
    }

    #[test]
    fn missing_required_dependency_is_refused() {
        let r = run(vec![mod_("rules", "1.0.0").needs("rocks", "^0.1")]);
        assert_eq!(
            error(&r, "rules.wasm"),
            "rules.wasm (mod rules): needs mod rocks ^0.1, which is not installed: install rocks ^0.1"
        );
        assert!(r.order.is_empty());
    }

    #[test]
    fn missing_dependency_on_any_version_omits_the_requirement() {
        let r = run(vec![mod_("rules", "1.0.0").needs("rocks", "*")]);
        assert_eq!(
            error(&r, "rules.wasm"),
            "rules.wasm (mod rules): needs mod rocks, which is not installed: install rocks"
        );
    }

    #[test]
    fn too_old_dependency_says_update() {
        let r = run(vec![mod_("rules", "1.0.0").needs("rocks", "^0.2"), mod_("rocks", "0.1.5")]);
        assert_eq!(
            error(&r, "rules.wasm"),
            "rules.wasm (mod rules): needs mod rocks ^0.2, but rocks 0.1.5 is installed: \
             update rocks to a version matching ^0.2"
        );
        assert_eq!(r.order, ["rocks.wasm"]);
    }

    #[test]
    fn too_old_dependency_with_range_says_update() {
        let r = run(vec![mod_("rules", "1.0.0").needs("rocks", ">=0.3, <0.5"), mod_("rocks", "0.2.0")]);
        assert!(error(&r, "rules.wasm").ends_with("update rocks to a version matching >=0.3, <0.5"));
    }

    #[test]
    fn too_new_dependency_says_install_matching() {
        let r = run(vec![mod_("rules", "1.0.0").needs("rocks", ">=0.1, <0.3"), mod_("rocks", "0.3.0")]);
        assert_eq!(
            error(&r, "rules.wasm"),
            "rules.wasm (mod rules): needs mod rocks >=0.1, <0.3, but rocks 0.3.0 is installed: \
             install a version of rocks matching >=0.1, <0.3"
        );
        let r = run(vec![mod_("rules", "1.0.0").needs("rocks", "^0.1"), mod_("rocks", "0.2.0")]);
        assert!(error(&r, "rules.wasm").ends_with("install a version of rocks matching ^0.1"));
    }

    #[test]
    fn matching_dependency_is_fine() {
        let r = run(vec![mod_("rules", "1.0.0").needs("rocks", "^0.1"), mod_("rocks", "0.1.7")]);
        assert!(r.refused.is_empty());
        assert_eq!(r.order, ["rocks.wasm", "rules.wasm"]);
    }

    #[test]
    fn optional_absent_is_fine() {
        let r = run(vec![mod_("rules", "1.0.0").dep("ship", "^0.1", DependencyKind::Optional)]);
        assert!(r.refused.is_empty());
        assert_eq!(r.order, ["rules.wasm"]);
    }

    #[test]
    fn optional_present_loads_first() {
        let r = run(vec![mod_("a", "1.0.0").dep("z", "^0.1", DependencyKind::Optional), mod_("z", "0.1.0")]);
        assert!(r.refused.is_empty());
        assert_eq!(r.order, ["z.wasm", "a.wasm"]);
    }

    #[test]
    fn optional_mismatched_is_refused() {
        let r = run(vec![mod_("rules", "1.0.0").dep("ship", "^0.1", DependencyKind::Optional), mod_("ship", "0.4.0")]);
        assert_eq!(
            error(&r, "rules.wasm"),
            "rules.wasm (mod rules): works with mod ship ^0.1, but ship 0.4.0 is installed: update or remove ship"
        );
        assert_eq!(r.order, ["ship.wasm"]);
    }

    #[test]
    fn optional_present_but_refused_refuses_the_dependent() {
        let mut ship = mod_("ship", "0.1.0");
        ship.api = "^2".into();
        let r = run(vec![mod_("rules", "1.0.0").dep("ship", "^0.1", DependencyKind::Optional), ship]);
        assert_eq!(
            error(&r, "rules.wasm"),
            "rules.wasm (mod rules): works with mod ship, which cannot run (needs mod API ^2): fix or remove ship"
        );
        assert!(r.order.is_empty());
    }

    #[test]
    fn incompatible_present_is_refused() {
        let r = run(vec![
            mod_("rules", "1.0.0").dep("old-rules", "*", DependencyKind::Incompatible),
            mod_("old-rules", "0.9.0"),
        ]);
        assert_eq!(
            error(&r, "rules.wasm"),
            "rules.wasm (mod rules): is incompatible with mod old-rules 0.9.0 (file old-rules.wasm): remove one of them"
        );
        assert_eq!(refused_files(&r), ["rules.wasm"]);
        assert_eq!(r.order, ["old-rules.wasm"]);
    }

    #[test]
    fn incompatible_with_non_matching_version_is_fine() {
        let r = run(vec![
            mod_("rules", "1.0.0").dep("old-rules", "<0.5", DependencyKind::Incompatible),
            mod_("old-rules", "0.9.0"),
        ]);
        assert!(r.refused.is_empty());
        assert_eq!(r.order, ["old-rules.wasm", "rules.wasm"]);
    }

    #[test]
    fn incompatible_absent_is_fine() {
        let r = run(vec![mod_("rules", "1.0.0").dep("old-rules", "*", DependencyKind::Incompatible)]);
        assert!(r.refused.is_empty());
    }

    #[test]
    fn incompatible_with_a_mod_that_cannot_run_anyway_is_fine() {
        let mut old = mod_("old-rules", "0.9.0");
        old.api = "^0.1".into();
        let r = run(vec![mod_("rules", "1.0.0").dep("old-rules", "*", DependencyKind::Incompatible), old]);
        assert_eq!(refused_files(&r), ["old-rules.wasm"]);
        assert_eq!(r.order, ["rules.wasm"]);
    }

    #[test]
    fn cycle_of_two_dependencies_refuses_both() {
        let r = run(vec![mod_("b", "1.0.0").needs("a", "*"), mod_("a", "1.0.0").needs("b", "*"), mod_("c", "1.0.0")]);
        let expected = "dependency cycle: a -> b -> a (field dependencies): remove one of these mods";
        assert_eq!(error(&r, "a.wasm"), format!("a.wasm (mod a): {expected}"));
        assert_eq!(error(&r, "b.wasm"), format!("b.wasm (mod b): {expected}"));
        assert_eq!(r.order, ["c.wasm"]);
    }

    #[test]
    fn cycle_via_load_after() {
        let r = run(vec![mod_("a", "1.0.0").needs("b", "*"), mod_("b", "1.0.0").after("a")]);
        let expected = "dependency cycle: a -> b -> a (fields dependencies/load_after): remove one of these mods";
        assert_eq!(error(&r, "a.wasm"), format!("a.wasm (mod a): {expected}"));
        assert_eq!(error(&r, "b.wasm"), format!("b.wasm (mod b): {expected}"));
        assert!(r.order.is_empty());
    }

    #[test]
    fn cycle_of_three_via_hints_names_them_in_order() {
        // a after c, c after b, b after a: a -> c -> b -> a.
        let r = run(vec![mod_("a", "1.0.0").after("c"), mod_("b", "1.0.0").after("a"), mod_("c", "1.0.0").after("b")]);
        let expected = "dependency cycle: a -> c -> b -> a (field load_after): remove one of these mods";
        assert_eq!(error(&r, "c.wasm"), format!("c.wasm (mod c): {expected}"));
        assert_eq!(refused_files(&r), ["a.wasm", "b.wasm", "c.wasm"]);
    }

    #[test]
    fn cycle_via_load_before() {
        let r = run(vec![mod_("a", "1.0.0").before("b"), mod_("b", "1.0.0").before("a"), mod_("c", "1.0.0")]);
        let expected = "dependency cycle: a -> b -> a (field load_before): remove one of these mods";
        assert_eq!(error(&r, "a.wasm"), format!("a.wasm (mod a): {expected}"));
        assert_eq!(r.order, ["c.wasm"]);
    }

    #[test]
    fn dependents_of_a_cycle_are_refused_but_hinted_mods_run() {
        let r = run(vec![
            mod_("a", "1.0.0").needs("b", "*"),
            mod_("b", "1.0.0").needs("a", "*"),
            mod_("user", "1.0.0").needs("a", "*"),
            mod_("later", "1.0.0").after("a"),
        ]);
        assert_eq!(
            error(&r, "user.wasm"),
            "user.wasm (mod user): needs mod a, which cannot run (dependency cycle a -> b -> a): fix a first"
        );
        assert_eq!(r.order, ["later.wasm"]);
    }

    #[test]
    fn transitive_refusal_names_the_dependency() {
        let r = run(vec![mod_("a", "1.0.0").needs("b", "^1"), mod_("b", "1.0.0").needs("c", "^1")]);
        assert_eq!(refused_files(&r), ["a.wasm", "b.wasm"]);
        assert_eq!(error(&r, "b.wasm"), "b.wasm (mod b): needs mod c ^1, which is not installed: install c ^1");
        assert_eq!(
            error(&r, "a.wasm"),
            "a.wasm (mod a): needs mod b, which cannot run (mod c is not installed): fix b first"
        );
        assert!(r.order.is_empty());
    }

    #[test]
    fn long_transitive_chain_is_refused_to_the_end() {
        let mut manifests: Vec<Manifest> =
            (0..50).map(|k| mod_(&format!("m{k:02}"), "1.0.0").needs(&format!("m{:02}", k + 1), "*")).collect();
        manifests.push(mod_("free", "1.0.0"));
        let r = run(manifests);
        assert_eq!(r.refused.len(), 50);
        assert_eq!(r.order, ["free.wasm"]);
        assert!(error(&r, "m00.wasm").contains("(mod m50 is not installed): fix m01 first"));
    }

    #[test]
    fn duplicate_ids_refuse_every_copy() {
        let candidates = vec![
            Candidate { file: "b.wasm".into(), manifest: Ok(mod_("x", "1.0.0")) },
            Candidate { file: "a.wasm".into(), manifest: Ok(mod_("x", "1.1.0")) },
            Candidate { file: "user.wasm".into(), manifest: Ok(mod_("user", "1.0.0").needs("x", "^1")) },
            Candidate { file: "y.wasm".into(), manifest: Ok(mod_("y", "1.0.0")) },
        ];
        let r = resolve(&candidates, &API);
        let expected = "mods a.wasm and b.wasm both have id \"x\": remove one of them";
        assert_eq!(error(&r, "a.wasm"), format!("a.wasm (mod x): {expected}"));
        assert_eq!(error(&r, "b.wasm"), format!("b.wasm (mod x): {expected}"));
        assert_eq!(
            error(&r, "user.wasm"),
            "user.wasm (mod user): needs mod x, which cannot run (installed 2 times): fix x first"
        );
        assert_eq!(refused_files(&r), ["a.wasm", "b.wasm", "user.wasm"]);
        assert_eq!(r.order, ["y.wasm"]);
    }

    #[test]
    fn three_copies_of_an_id() {
        let candidates: Vec<Candidate> = ["c.wasm", "a.wasm", "b.wasm"]
            .into_iter()
            .map(|f| Candidate { file: f.into(), manifest: Ok(mod_("x", "1.0.0")) })
            .collect();
        let r = resolve(&candidates, &API);
        assert_eq!(
            error(&r, "c.wasm"),
            "c.wasm (mod x): mods a.wasm, b.wasm and c.wasm all have id \"x\": remove all but one of them"
        );
        assert!(r.order.is_empty());
    }

    #[test]
    fn bad_id_names_the_field() {
        let r = run(vec![mod_("Bad Id", "1.0.0")]);
        assert_eq!(
            error(&r, "Bad Id.wasm"),
            "Bad Id.wasm: field id: \"Bad Id\" is not a valid id (lowercase letters, digits, - and _): rename it"
        );
        let r = run(vec![mod_("", "1.0.0")]);
        assert!(error(&r, ".wasm").starts_with(".wasm: field id: \"\" is not a valid id"));
    }

    #[test]
    fn bad_version_names_the_field() {
        let r = run(vec![mod_("a", "1.x")]);
        assert_eq!(
            error(&r, "a.wasm"),
            "a.wasm (mod a): field version: \"1.x\" is not a version (semver, e.g. \"1.2.0\"): fix the version"
        );
    }

    #[test]
    fn bad_api_names_the_field() {
        let mut a = mod_("a", "1.0.0");
        a.api = "one".into();
        let r = run(vec![a]);
        assert_eq!(
            error(&r, "a.wasm"),
            "a.wasm (mod a): field api: \"one\" is not a version requirement (semver, e.g. \"^1.2\"): \
             fix the requirement"
        );
    }

    #[test]
    fn bad_dependency_version_names_the_field() {
        let r = run(vec![mod_("a", "1.0.0").needs("b", "*").needs("c", "*").needs("d", "x.y"), mod_("b", "1.0.0")]);
        assert!(
            error(&r, "a.wasm").starts_with(
                "a.wasm (mod a): field dependencies[2].version: \"x.y\" is not a version requirement (semver, \
                 e.g. \"^1.2\"): fix the requirement"
            ),
            "{r:?}"
        );
        assert_eq!(r.order, ["b.wasm"]);
    }

    #[test]
    fn several_problems_are_reported_together() {
        let mut a = mod_("a", "1.x");
        a.api = "^2".into();
        let r = run(vec![a]);
        assert_eq!(
            error(&r, "a.wasm"),
            "a.wasm (mod a): field version: \"1.x\" is not a version (semver, e.g. \"1.2.0\"): fix the version; \
             needs mod API ^2, this game has 1.3.0: install a version of a made for mod API 1.3"
        );
    }

    #[test]
    fn dependency_with_bad_version_cannot_run() {
        let r = run(vec![mod_("a", "1.0.0").needs("b", "^1"), mod_("b", "one")]);
        assert_eq!(
            error(&r, "a.wasm"),
            "a.wasm (mod a): needs mod b, which cannot run (its manifest field version is invalid): fix b first"
        );
    }

    #[test]
    fn api_mismatch_is_refused() {
        let mut a = mod_("a", "1.0.0");
        a.api = "^1.4".into();
        let mut b = mod_("b", "1.0.0");
        b.api = ">=1.0, <2".into();
        let r = run(vec![a, b]);
        assert_eq!(
            error(&r, "a.wasm"),
            "a.wasm (mod a): needs mod API ^1.4, this game has 1.3.0: install a version of a made for mod API 1.3"
        );
        assert_eq!(r.order, ["b.wasm"]);
    }

    #[test]
    fn load_order_puts_dependencies_first_then_ids() {
        let r = run(vec![
            mod_("a", "1.0.0").needs("z", "*"),
            mod_("b", "1.0.0"),
            mod_("z", "1.0.0").needs("y", "*"),
            mod_("y", "1.0.0"),
            mod_("c", "1.0.0"),
        ]);
        assert!(r.refused.is_empty());
        // Ready at first: b, c, y; a waits for z, z for y.
        assert_eq!(r.order, ["b.wasm", "c.wasm", "y.wasm", "z.wasm", "a.wasm"]);
    }

    #[test]
    fn load_order_respects_hints() {
        let r = run(vec![
            mod_("a", "1.0.0").after("c"),
            mod_("b", "1.0.0"),
            mod_("c", "1.0.0"),
            mod_("d", "1.0.0").before("b"),
            mod_("e", "1.0.0").after("absent").before("absent-too"),
        ]);
        assert!(r.refused.is_empty());
        assert_eq!(r.order, ["c.wasm", "a.wasm", "d.wasm", "b.wasm", "e.wasm"]);
    }

    #[test]
    fn hints_naming_refused_mods_are_ignored() {
        let mut c = mod_("c", "1.0.0");
        c.api = "^9".into();
        let r = run(vec![mod_("a", "1.0.0").after("c"), c, mod_("b", "1.0.0").before("c")]);
        assert_eq!(refused_files(&r), ["c.wasm"]);
        assert_eq!(r.order, ["a.wasm", "b.wasm"]);
    }

    #[test]
    fn refused_mod_does_not_block_unrelated_mods() {
        let r = run(vec![
            mod_("broken", "1.0.0").needs("missing", "^1"),
            mod_("base", "1.0.0"),
            mod_("user", "1.0.0").needs("base", "^1"),
            mod_("other", "2.0.0").after("broken"),
        ]);
        assert_eq!(refused_files(&r), ["broken.wasm"]);
        assert_eq!(r.order, ["base.wasm", "other.wasm", "user.wasm"]);
    }

    #[test]
    fn self_references_are_ignored() {
        let r = run(vec![mod_("a", "1.0.0").needs("a", "^1").after("a")]);
        assert!(r.refused.is_empty());
        assert_eq!(r.order, ["a.wasm"]);
    }

    #[test]
    fn refused_is_sorted_by_file() {
        let r = run(vec![mod_("z", "1.0.0").needs("q", "*"), mod_("m", "x"), mod_("b", "1.0.0").needs("q", "*")]);
        assert_eq!(refused_files(&r), ["b.wasm", "m.wasm", "z.wasm"]);
    }

    #[test]
    fn result_does_not_depend_on_candidate_order() {
        let manifests = vec![
            mod_("a", "1.0.0").needs("b", "*"),
            mod_("b", "1.0.0").after("d"),
            mod_("c", "1.0.0").needs("missing", "*"),
            mod_("d", "1.0.0"),
            mod_("e", "1.0.0").needs("c", "*"),
        ];
        let forward = run(manifests.clone());
        let backward = run(manifests.into_iter().rev().collect());
        assert_eq!(forward, backward);
        assert_eq!(forward.order, ["d.wasm", "b.wasm", "a.wasm"]);
    }

    #[test]
    fn large_chain_orders_in_dependency_order() {
        let n = 2000;
        let manifests: Vec<Manifest> = (0..n)
            .map(|k| {
                let m = mod_(&format!("m{k:05}"), "1.0.0");
                if k + 1 < n { m.needs(&format!("m{:05}", k + 1), "*") } else { m }
            })
            .collect();
        let r = run(manifests);
        assert!(r.refused.is_empty());
        let expected: Vec<String> = (0..n).rev().map(|k| format!("m{k:05}.wasm")).collect();
        assert_eq!(r.order, expected);
    }
}
