//! Whether fixed point in a graph's ring holds its values: the check that
//! keeps an overflow from being silent.
//!
//! Given each node's bound ([`crate::bounds`]), three things must hold:
//!
//! 1. Every value fits the ring: |x|·2^f < 2^(k−1), f the value's
//!    fractional bits (2F for a product before its truncation, 0 for an
//!    integer). Past it a value wraps: wrong by about 2^(k−f).
//! 2. Every truncation of shares is unlikely to fail. Local truncation
//!    (`pond::truncation`, SecureML) destroys a value of ℓ bits with
//!    probability 2^(ℓ+1−k); here it must stay at most 2^−16 per element
//!    ([`TRUNCATION_FAILURE`]), which allows products up to 2^(k−17−2F)
//!    (32,768 in Z_2^64 with F = 16; 2^47 in Z_2^128 with F = 32). The
//!    shipped MNIST networks stay near 2^−27 on real images and below
//!    2^−17 for every image a [0, 1] pixel range allows; weights scaled up a
//!    million times reach 2^−9 and are refused.
//! 3. A comparison on x mod 2^m is exact only while |x|·2^f < 2^(m−1).
//!
//! Checks 1 and 3 hold for any bounds. Check 2 holds for [`Evidence::Exact`]
//! bounds (every input's values known: the values the graph computes); for
//! [`Evidence::WorstCase`] bounds (some input known only by a declared
//! range) it is reported, not enforced: the worst case over every input a
//! range allows lies far above real inputs' values (for MNIST network D,
//! 7.6·10^5 against 28 for real images), so it would refuse sound models,
//! while a wrap or a wrong comparison (checks 1 and 3) is wrong for every
//! input.
//!
//! A graph that fails a check is refused, naming the node and the bound,
//! unless the caller accepts the risk. The bounds come from what a party
//! knows (its own inputs exactly, others' declared ranges), so a refusal
//! says one bit about them: that some value of the model could exceed the
//! headroom (docs/security.md).

use blindfold_ir::{Graph, NodeId, Op};

use crate::bounds::NodeBound;

/// The most a truncation may fail, per element: 2^−16.
pub const TRUNCATION_FAILURE: f64 = 1.0 / (1u64 << 16) as f64;

/// Which check a value failed.
#[derive(Clone, Debug, PartialEq)]
pub enum OverflowKind {
    /// The value does not fit the ring at its fractional bits.
    Value { fractional_bits: u32 },
    /// Its truncation would destroy values with this probability each.
    Truncation { probability: f64 },
    /// A comparison on `bits` bits would wrap.
    Comparison { bits: u32 },
}

/// A value that fixed point in the graph's ring cannot be trusted to hold.
/// Its `Display` has the bound and the limit, which follow from the
/// inputs: for the party that computed it; [`Overflow::public`] is what
/// others may read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{node} ({op}): {}", describe(.kind, *.bound, *.limit, *.ring_bits))]
pub struct Overflow {
    pub node: NodeId,
    pub op: &'static str,
    pub kind: OverflowKind,
    /// How large its values can get (|x|, in reals).
    pub bound: f64,
    /// How large they may get for the check to hold.
    pub limit: f64,
    pub ring_bits: u32,
}

impl Overflow {
    /// The node and what would fail, without the bound (which says
    /// something of the inputs it came from).
    pub fn public(&self) -> String {
        let what = match &self.kind {
            OverflowKind::Value { fractional_bits } => {
                format!(
                    "its values would not fit Z_2^{} with {fractional_bits} fractional bits",
                    self.ring_bits
                )
            }
            OverflowKind::Truncation { .. } => {
                format!(
                    "its products would make truncation fail more often than {TRUNCATION_FAILURE:.1e} per value"
                )
            }
            OverflowKind::Comparison { bits } => {
                format!("its values would wrap when compared on {bits} bits")
            }
        };
        format!("{} ({}): {what}", self.node, self.op)
    }
}

fn describe(kind: &OverflowKind, bound: f64, limit: f64, ring_bits: u32) -> String {
    match kind {
        OverflowKind::Value { fractional_bits } => format!(
            "values up to {bound:.3e} do not fit Z_2^{ring_bits} with {fractional_bits} fractional bits \
             (the limit is {limit:.3e}): they would wrap"
        ),
        OverflowKind::Truncation { probability } => format!(
            "products up to {bound:.3e} make local truncation destroy each value with probability \
             {probability:.1e} (the limit is {TRUNCATION_FAILURE:.1e}, reached at {limit:.3e})"
        ),
        OverflowKind::Comparison { bits } => {
            format!("values up to {bound:.3e} are compared on {bits} bits, exact only below {limit:.3e}")
        }
    }
}

/// What the bounds were computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// Every input's values: the bounds are the graph's own values.
    Exact,
    /// Some inputs by a declared range: the bounds are worst cases.
    WorstCase,
}

/// What the check found besides a refusal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings {
    /// The largest chance that a truncation destroys a value, per element,
    /// and where (with [`Evidence::WorstCase`], possibly above the limit).
    pub truncation_failure: Option<(NodeId, f64)>,
}

/// Checks every node of `graph` against its bound (one per node, in order).
pub fn check(graph: &Graph, bounds: &[NodeBound], evidence: Evidence) -> Result<Findings, Overflow> {
    let mut findings = Findings::default();
    let k = graph.ring().bits();
    let fractional = graph.fractional_bits();
    for (index, (node, bound)) in graph.nodes().iter().zip(bounds).enumerate() {
        let overflow = |kind, bound, limit| Overflow {
            node: NodeId(index as u32),
            op: node.op.name(),
            kind,
            bound,
            limit,
            ring_bits: k,
        };
        // 1. The value fits: [−2^(k−1), 2^(k−1)) in units of 2^−f (a
        //    non-finite bound fits nothing). An input or constant that does
        //    not fit is refused where it is encoded, naming the input.
        let bits = node.ty.dtype.fractional_bits();
        let encoded = matches!(node.op, Op::Input { .. } | Op::Constant { .. });
        let fits = 2f64.powi(k as i32 - 1 - bits as i32);
        if !fits_between(bound.low, bound.high, fits) {
            if encoded {
                // Its encoding fails first, with an error of its own: what
                // follows from it never runs.
                return Ok(findings);
            }
            return Err(overflow(OverflowKind::Value { fractional_bits: bits }, bound.value, fits));
        }
        // 2. Truncations: of a product's value, and inside a polynomial.
        let truncated = match &node.op {
            Op::Truncate { source, .. } => {
                let bits = graph.node(*source).expect("operands precede").ty.dtype.fractional_bits();
                Some((bounds[source.index()].value, bits))
            }
            Op::Polynomial { .. } => bound.internal.map(|internal| (internal, 2 * fractional)),
            _ => None,
        };
        if let Some((value, bits)) = truncated {
            let limit = 2f64.powi(k as i32 - 17 - bits as i32);
            // ℓ bits hold |x|·2^bits; failure 2^(ℓ + 1 − k).
            let probability = (value * 2f64.powi(bits as i32) * 2.0 / 2f64.powi(k as i32)).min(1.0);
            if (value.is_nan() || value > limit) && evidence == Evidence::Exact {
                return Err(overflow(OverflowKind::Truncation { probability }, value, limit));
            }
            if findings.truncation_failure.is_none_or(|(_, worst)| probability > worst) {
                findings.truncation_failure = Some((NodeId(index as u32), probability));
            }
        }
        // 3. Bounded comparisons.
        if let Op::DreluBounded { source, bits } = &node.op {
            let source_bits = graph.node(*source).expect("operands precede").ty.dtype.fractional_bits();
            let exact = 2f64.powi(*bits as i32 - 1 - source_bits as i32);
            let compared = &bounds[source.index()];
            if !fits_between(compared.low, compared.high, exact) {
                return Err(overflow(OverflowKind::Comparison { bits: *bits }, compared.value, exact));
            }
        }
    }
    Ok(findings)
}

/// [low, high] lies in [−limit, limit) (NaN lies nowhere).
fn fits_between(low: f64, high: f64, limit: f64) -> bool {
    low >= -limit && high < limit
}

#[cfg(test)]
mod tests {
    use blindfold_ir::{GraphBuilder, Ring};
    use ndarray::{ArrayD, IxDyn};

    use super::*;
    use crate::bounds::{Known, KnownInputs, propagate};

    /// x·w for x ∈ [−1, 1]^4 and w of the given entries, in `ring`, with
    /// the evidence of exact values (a range of [−1, 1] whose corners are
    /// the worst case, checked as if exact).
    fn checked(ring: Ring, weight: f64, comparison_bits: Option<u32>) -> Result<(), Overflow> {
        checked_as(ring, weight, comparison_bits, Evidence::Exact)
    }

    fn checked_as(ring: Ring, weight: f64, bits: Option<u32>, evidence: Evidence) -> Result<(), Overflow> {
        let comparison_bits = bits;
        let mut g = GraphBuilder::with_ring(ring);
        g.set_comparison_bits(comparison_bits).unwrap();
        let x = g.private_input("client", "x", &[1, 4]).unwrap();
        let w = g.private_input("owner", "w", &[4, 2]).unwrap();
        let y = g.matmul(x, w).unwrap();
        let r = g.relu(y).unwrap();
        g.output("client", "r", r).unwrap();
        let graph = g.finish();
        let inputs: KnownInputs = [
            (("client".to_string(), "x".to_string()), Known::Range { low: -1.0, high: 1.0 }),
            (("owner".to_string(), "w".to_string()), Known::Exact(ArrayD::from_elem(IxDyn(&[4, 2]), weight))),
        ]
        .into();
        check(&graph, &propagate(&graph, &inputs).unwrap(), evidence).map(|_| ())
    }

    #[test]
    fn ordinary_models_pass_and_scaled_up_ones_are_refused() {
        // |x·w| ≤ 4·|w|: 400 is well within Z_2^64 at 16 bits.
        assert_eq!(checked(Ring::Z64, 100.0, None), Ok(()));
        // 4·10^6: the product wraps nothing (4e6·2^32 < 2^63) but destroys
        // its truncation with probability about 2^−9 per element.
        let error = checked(Ring::Z64, 1e6, None).unwrap_err();
        assert!(matches!(error.kind, OverflowKind::Truncation { .. }), "{error}");
        assert_eq!((error.op, error.bound), ("truncate", 4e6));
        assert!(error.to_string().contains("destroy each value"), "{error}");
        // 4·10^9 does not fit at all: 4e9·2^32 > 2^63.
        let error = checked(Ring::Z64, 1e9, None).unwrap_err();
        assert!(matches!(error.kind, OverflowKind::Value { fractional_bits: 32 }), "{error}");
        // Z_2^128 holds both.
        assert_eq!(checked(Ring::Z128, 1e9, None), Ok(()));
        // As a worst case, the truncation is reported but a wrap refused.
        assert_eq!(checked_as(Ring::Z64, 1e6, None, Evidence::WorstCase), Ok(()));
        assert!(checked_as(Ring::Z64, 1e9, None, Evidence::WorstCase).is_err());
    }

    #[test]
    fn bounded_comparisons_are_checked_against_their_width() {
        // On 24 bits at 16 fractional bits: exact below 2^7 = 128.
        assert_eq!(checked(Ring::Z64, 10.0, Some(24)), Ok(()));
        let error = checked(Ring::Z64, 100.0, Some(24)).unwrap_err();
        assert_eq!(error.kind, OverflowKind::Comparison { bits: 24 });
        assert_eq!((error.bound, error.limit), (400.0, 128.0));
    }
}
