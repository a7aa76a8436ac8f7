//! A worker's overflow check before its part of a session runs: its own
//! inputs must lie in their declared ranges, and where it knows every input
//! (its own exactly, the others' by range) it bounds every value of the
//! graph and refuses what fixed point could not hold
//! (`protocols::headroom`). What the refusal says to the others names the
//! input or the node, never a value or a bound: those stay in this
//! worker's log.

use std::collections::HashMap;

use blindfold_ir::{Graph, Op};
use blindfold_protocols::bounds::{self, Known, KnownInputs};
use blindfold_protocols::headroom::{self, Evidence};
use ndarray::ArrayD;

use crate::control::{InputRange, OverflowCheck};

/// Why the check refused: what the others may read, and what only this
/// worker's log gets.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub public: String,
    pub private: String,
}

/// Checks `me`'s `inputs` and, where it can, the whole graph.
pub fn check(
    me: &str,
    graph: &Graph,
    inputs: &HashMap<String, ArrayD<f64>>,
    check: &OverflowCheck,
) -> Result<(), Refusal> {
    let OverflowCheck::Ranges(ranges) = check else { return Ok(()) };
    let declared = |party: &str, input: &str| -> Option<&InputRange> {
        ranges.iter().find(|r| r.party == party && r.input == input)
    };
    let mut known = KnownInputs::new();
    for node in graph.nodes() {
        let Op::Input { party, name } = &node.op else { continue };
        let key = (party.clone(), name.clone());
        match (party == me, declared(party, name)) {
            (true, range) => {
                let Some(values) = inputs.get(name) else { continue };
                if let Some(range) = range {
                    within(me, name, values, range)?;
                }
                known.insert(key, Known::Exact(values.clone()));
            }
            (false, Some(range)) => {
                known.insert(key, Known::Range { low: range.low, high: range.high });
            }
            // Another party's input with no declared range: this worker
            // cannot bound the graph (that party, or one that knows it, does).
            (false, None) => return Ok(()),
        }
    }
    let refusal = |public: String, private: String| Refusal { public: format!("{me}: {public}"), private };
    let bounds = bounds::propagate(graph, &known).map_err(|e| refusal(e.to_string(), e.to_string()))?;
    let evidence = if known.values().all(|k| matches!(k, Known::Exact(_))) {
        Evidence::Exact
    } else {
        Evidence::WorstCase
    };
    headroom::check(graph, &bounds, evidence).map(|_| ()).map_err(|overflow| {
        refusal(
            format!(
                "fixed point could overflow at {} for inputs in the declared ranges; \
                 scale the model or the ranges down, use Z_2^128, or accept the risk",
                overflow.public()
            ),
            overflow.to_string(),
        )
    })
}

/// `values` lie in the declared range.
fn within(me: &str, name: &str, values: &ArrayD<f64>, range: &InputRange) -> Result<(), Refusal> {
    let (low, high) =
        values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    if values.is_empty() || (low >= range.low && high <= range.high) {
        return Ok(());
    }
    Err(Refusal {
        public: format!(
            "{me}: input '{name}' has values outside its declared range [{}, {}]",
            range.low, range.high
        ),
        private: format!("input '{name}' spans [{low}, {high}]"),
    })
}

#[cfg(test)]
mod tests {
    use blindfold_ir::GraphBuilder;
    use ndarray::IxDyn;

    use super::*;

    fn graph() -> Graph {
        let mut g = GraphBuilder::new();
        let x = g.private_input("client", "x", &[1, 2]).unwrap();
        let w = g.private_input("owner", "w", &[2, 1]).unwrap();
        let y = g.matmul(x, w).unwrap();
        g.output("client", "y", y).unwrap();
        g.finish()
    }

    fn ranges(low: f64, high: f64) -> OverflowCheck {
        OverflowCheck::Ranges(vec![InputRange { party: "client".into(), input: "x".into(), low, high }])
    }

    fn weights(value: f64) -> HashMap<String, ArrayD<f64>> {
        HashMap::from([("w".to_string(), ArrayD::from_elem(IxDyn(&[2, 1]), value))])
    }

    #[test]
    fn the_owner_refuses_weights_that_overflow_on_the_declared_range() {
        assert_eq!(check("owner", &graph(), &weights(3.0), &ranges(0.0, 1.0)), Ok(()));
        // |x·w| up to 2·10^10: wraps in Z_2^64 at 32 fractional bits.
        let refusal = check("owner", &graph(), &weights(1e10), &ranges(0.0, 1.0)).unwrap_err();
        assert!(refusal.public.contains("owner: fixed point could overflow at %"), "{}", refusal.public);
        assert!(!refusal.public.contains("e10") && refusal.private.contains("e10"), "{refusal:?}");
        // Accepted: no check.
        assert_eq!(check("owner", &graph(), &weights(1e10), &OverflowCheck::Accepted), Ok(()));
    }

    #[test]
    fn the_client_keeps_to_its_declared_range_and_cannot_bound_the_rest() {
        let x = |v: f64| HashMap::from([("x".to_string(), ArrayD::from_elem(IxDyn(&[1, 2]), v))]);
        // It does not know the weights, so only its range is its to check.
        assert_eq!(check("client", &graph(), &x(0.5), &ranges(0.0, 1.0)), Ok(()));
        let refusal = check("client", &graph(), &x(7.0), &ranges(0.0, 1.0)).unwrap_err();
        assert!(refusal.public.contains("outside its declared range [0, 1]"), "{}", refusal.public);
        assert!(!refusal.public.contains('7'), "{}", refusal.public);
    }
}
