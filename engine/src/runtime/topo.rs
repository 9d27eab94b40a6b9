//! The runtime's one topological sort: mods in load order (`resolve`), a
//! mod's systems in their declared order (`instance::plan`), and all running
//! mods' systems of a schedule together (`schedule`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Orders nodes `0..n` so that `a` comes before `b` for every edge `(a, b)`,
/// taking, whenever several nodes are ready, the one with the least
/// `key(node)` (Kahn's algorithm with a heap: `O((n + edges) log n)`, so a
/// mod declaring thousands of systems cannot stall the frame that starts
/// it). Fails with the nodes that are on a cycle or wait behind one, in
/// index order.
pub(crate) fn order<K: Ord>(
    n: usize,
    edges: &[(usize, usize)],
    key: impl Fn(usize) -> K,
) -> Result<Vec<usize>, Vec<usize>> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting = vec![0usize; n];
    for &(a, b) in edges {
        next[a].push(b);
        waiting[b] += 1;
    }
    let mut ready: BinaryHeap<Reverse<(K, usize)>> =
        (0..n).filter(|&i| waiting[i] == 0).map(|i| Reverse((key(i), i))).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(Reverse((_, i))) = ready.pop() {
        out.push(i);
        for &j in &next[i] {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.push(Reverse((key(j), j)));
            }
        }
    }
    if out.len() < n {
        return Err((0..n).filter(|&i| waiting[i] > 0).collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::order;

    #[test]
    fn ties_go_to_the_least_key_and_edges_win() {
        assert_eq!(order(4, &[], |i| i), Ok(vec![0, 1, 2, 3]));
        assert_eq!(order(4, &[(3, 0)], |i| i), Ok(vec![1, 2, 3, 0]));
        assert_eq!(order(3, &[], std::cmp::Reverse), Ok(vec![2, 1, 0]));
    }

    #[test]
    fn a_cycle_names_the_nodes_it_holds_back() {
        assert_eq!(order(4, &[(1, 2), (2, 1), (2, 3)], |i| i), Err(vec![1, 2, 3]));
    }
}
