//! Σ c_i·x^i on a shared x with public coefficients.

use blindfold_ir::NodeId;
use blindfold_ring::{RingElement, RingTensor};

use super::multiplication::reshare_all;
use super::truncation::truncate;
use super::{Pair, ReplicatedParty, next};
use crate::clear;
use crate::communicator::Communicator;
use crate::error::Result;
use crate::polynomial::plan;

/// Evaluates the polynomial of node `id` on the shared `source`, following
/// [`crate::polynomial::plan`]: each power is a product of two earlier
/// powers, reshared and truncated; the weighted sum is local and truncated
/// once.
///
/// Communication: per power, a product (3·n·k/8 bytes) and a truncation
/// (2·n·k/8 bytes); the sum's truncation, 2·n·k/8 bytes. The powers of one
/// plan round run side by side; a product and a truncation per plan round,
/// then the sum's, with the truncations partly overlapped (servers 0 and 1
/// keep their shares at once): a cubic takes 4 rounds on the critical path.
pub(super) fn evaluate<R: RingElement>(
    party: &ReplicatedParty<R>,
    id: NodeId,
    server: usize,
    source: NodeId,
    coefficients: &[f64],
    communicator: &mut dyn Communicator,
) -> Result<Pair<R>> {
    let graph = std::sync::Arc::clone(&party.state.graph);
    let shape = graph.node(source).expect("valid operand").ty.shape.clone();
    let fractional_bits = graph.fractional_bits();
    let steps = plan(coefficients);
    let mut powers: Vec<Option<Pair<R>>> = vec![None; coefficients.len().max(2)];
    powers[1] = Some(party.shares(source, id)?.clone());
    let last_round = steps.iter().map(|s| s.round).max().unwrap_or(0);
    for round in 1..=last_round {
        let this_round: Vec<_> = steps.iter().filter(|s| s.round == round).collect();
        let terms = this_round
            .iter()
            .map(|step| {
                let high = powers[step.high].as_ref().expect("the plan computes factors first");
                let low = powers[step.low].as_ref().expect("the plan computes factors first");
                (elementwise_product(high, low), step.power as u64)
            })
            .collect();
        let products = reshare_all(party, id, server, terms, communicator)?;
        for (step, product) in this_round.iter().zip(products) {
            let truncated =
                truncate(party, id, server, &product, fractional_bits, step.power as u64, communicator)?;
            powers[step.power] = Some(truncated);
        }
    }
    let description = clear::describe(&graph, id);
    let mut sums = Vec::with_capacity(2);
    for (position, share_index) in [(0, server), (1, next(server))] {
        let shares: Vec<Option<RingTensor<R>>> = powers
            .iter()
            .map(|power| {
                power.as_ref().map(|p| if position == 0 { p.first.clone() } else { p.second.clone() })
            })
            .collect();
        sums.push(clear::weighted_sum(
            coefficients,
            &shares,
            &shape,
            fractional_bits,
            &description,
            share_index == 0,
        )?);
    }
    let second = sums.pop().expect("two sums");
    let first = sums.pop().expect("two sums");
    truncate(party, id, server, &Pair { first, second }, fractional_bits, 0, communicator)
}

/// Server i's local term of x ⊙ y elementwise: x_i·(y_i + y_{i+1}) + x_{i+1}·y_i.
fn elementwise_product<R: RingElement>(x: &Pair<R>, y: &Pair<R>) -> RingTensor<R> {
    let y_sum = y.first.add(&y.second).expect("same shape");
    let mut term = x.first.mul(&y_sum).expect("same shape");
    term.add_assign(&x.second.mul(&y.first).expect("same shape")).expect("same shape");
    term
}
