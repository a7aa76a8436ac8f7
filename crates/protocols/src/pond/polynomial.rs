//! Σ c_i·x^i on a shared x with public coefficients.

use blindfold_ir::{NodeId, Op};
use blindfold_ring::{RingElement, RingTensor};

use super::beaver::{Factor, MaskKey, Product};
use super::truncation::truncate;
use super::{Local, PondParty, Role};
use crate::clear;
use crate::communicator::Communicator;
use crate::error::Result;
use crate::polynomial::plan;

/// Evaluates the polynomial of node `id` on the shared `source`, following
/// [`crate::polynomial::plan`]: the powers of one round are products of
/// earlier powers, truncated; the weighted sum is local and truncated once.
///
/// Communication: one round per plan round in which a factor's mask is not
/// yet open (degree 7: 3 rounds), each server sending |x|·k/8 bytes per
/// newly opened power; offline, |x|·k/8 bytes per power from the producer.
pub(super) fn evaluate<R: RingElement>(
    party: &mut PondParty<R>,
    id: NodeId,
    source: NodeId,
    coefficients: &[f64],
    communicator: &mut dyn Communicator,
) -> Result<Local<R>> {
    let graph = std::sync::Arc::clone(&party.state.graph);
    let shape = graph.node(source).expect("valid operand").ty.shape.clone();
    let fractional_bits = graph.fractional_bits();
    let steps = plan(coefficients);
    let key = |power: usize| if power == 1 { MaskKey::Value(source) } else { MaskKey::Power(id, power) };
    let elementwise = Op::Polynomial { source, coefficients: vec![] };
    let product = |power: usize| Product { id, slot: power, op: &elementwise, shape: &shape };
    match party.role {
        Role::Server(server) => {
            let mut powers: Vec<Option<RingTensor<R>>> = vec![None; coefficients.len().max(2)];
            powers[1] = Some(party.share_value(source, id)?.clone());
            let last_round = steps.iter().map(|s| s.round).max().unwrap_or(0);
            for round in 1..=last_round {
                let this_round: Vec<_> = steps.iter().filter(|s| s.round == round).collect();
                let factors: Vec<Factor<'_, R>> = this_round
                    .iter()
                    .flat_map(|s| [s.high, s.low])
                    .map(|power| Factor { key: key(power), shape: &shape, share: powers[power].as_ref() })
                    .collect();
                party.open_factors(server, &factors, communicator)?;
                for step in this_round {
                    let keys = (key(step.high), key(step.low));
                    let raw = party.combine(server, &product(step.power), keys, communicator)?;
                    powers[step.power] = Some(truncate(&raw, fractional_bits, server));
                }
            }
            let description = clear::describe(&graph, id);
            let sum = clear::weighted_sum(
                coefficients,
                &powers,
                &shape,
                fractional_bits,
                &description,
                server == 0,
            )?;
            Ok(Local::Share(truncate(&sum, fractional_bits, server)))
        }
        Role::Producer => {
            for step in &steps {
                let high = Factor { key: key(step.high), shape: &shape, share: None };
                let low = Factor { key: key(step.low), shape: &shape, share: None };
                party.deal_triple(&product(step.power), (&high, &low), communicator)?;
            }
            Ok(Local::Absent)
        }
        Role::Other => Ok(Local::Absent),
    }
}
