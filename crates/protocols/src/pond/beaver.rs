//! Products of shared values with Beaver triples (mul, matmul, conv2d and
//! the powers inside polynomials), with one mask per value.
//!
//! Every shared value x that enters a product gets a mask a_x; its shares
//! a_x0, a_x1 expand from the servers' seeds under a label naming x, so the
//! producer (who dealt both seeds) knows a_x and nobody else does. The first
//! product that uses x opens e_x = x − a_x to both servers; later products
//! reuse it. For z = x ⊙ y (⊙ bilinear: ·, matmul, conv2d) the producer
//! deals c = a_x ⊙ a_y as c0 = PRG(seed0, label of the product) and
//! c1 = c − c0, sent to server1. Then, with e = x − a_x and d = y − a_y,
//!
//!   z0 = c0 + e ⊙ (a_y0 + d) + a_x0 ⊙ d,   z1 = c1 + e ⊙ a_y1 + a_x1 ⊙ d,
//!
//! and z0 + z1 = a⊙b + e⊙b + a⊙d + e⊙d = x ⊙ y. Each server does two
//! products of the full size.

use std::collections::HashMap;

use blindfold_ir::{NodeId, Op};
use blindfold_ring::{Prg, RingElement, RingTensor, Seed};

use super::{Local, PRODUCER, PondParty, Randomness, Role, SERVERS};
use crate::clear::{self, ring_error};
use crate::communicator::{Communicator, Traffic};
use crate::error::Result;

/// Which value a mask belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MaskKey {
    /// A value of the graph.
    Value(NodeId),
    /// Power `p` of a polynomial node's input (p ≥ 2).
    Power(NodeId, usize),
}

impl MaskKey {
    /// The PRG label of this mask.
    fn label(self) -> u64 {
        match self {
            MaskKey::Value(id) => id.0 as u64,
            MaskKey::Power(id, power) => 1 << 62 | (id.0 as u64) << 8 | power as u64,
        }
    }
}

/// The PRG label of server0's share of product `slot` of node `id`.
fn triple_label(id: NodeId, slot: usize) -> u64 {
    2 << 62 | (id.0 as u64) << 8 | slot as u64
}

/// A server's share of a mask, and the opened masked value once known.
struct ServerMask<R: RingElement> {
    share: RingTensor<R>,
    opened: Option<RingTensor<R>>,
}

/// The masks a party holds: a server its shares, the producer whole masks.
pub(super) struct Masks<R: RingElement> {
    server: HashMap<MaskKey, ServerMask<R>>,
    producer: HashMap<MaskKey, RingTensor<R>>,
}

impl<R: RingElement> Default for Masks<R> {
    fn default() -> Self {
        Masks { server: HashMap::new(), producer: HashMap::new() }
    }
}

impl<R: RingElement> Masks<R> {
    /// Forgets the mask of a value no later node reads.
    pub(super) fn release(&mut self, id: NodeId) {
        self.server.remove(&MaskKey::Value(id));
        self.producer.remove(&MaskKey::Value(id));
    }

    /// Forgets the masks internal to node `id`.
    pub(super) fn release_internal(&mut self, id: NodeId) {
        self.server.retain(|key, _| !matches!(key, MaskKey::Power(node, _) if *node == id));
        self.producer.retain(|key, _| !matches!(key, MaskKey::Power(node, _) if *node == id));
    }
}

/// One product of a node: which node, which of its products (`slot`), the
/// bilinear op, and the result's shape.
pub(super) struct Product<'a> {
    pub id: NodeId,
    pub slot: usize,
    pub op: &'a Op,
    pub shape: &'a [usize],
}

/// One factor of a product: its mask's key and (at a server) its share.
pub(super) struct Factor<'a, R: RingElement> {
    pub key: MaskKey,
    pub shape: &'a [usize],
    pub share: Option<&'a RingTensor<R>>,
}

impl<R: RingElement> PondParty<R> {
    pub(super) fn server_seed(&self) -> &Seed {
        match &self.randomness {
            Randomness::Server(seed) => seed,
            _ => unreachable!("only servers hold a server seed"),
        }
    }

    /// This server's share of the mask `key`, expanded on first use.
    fn ensure_server_mask(&mut self, key: MaskKey, shape: &[usize]) {
        if !self.masks.server.contains_key(&key) {
            let share = Prg::new(&self.server_seed().derive(key.label())).ring_tensor(shape);
            self.masks.server.insert(key, ServerMask { share, opened: None });
        }
    }

    /// The producer's whole mask `key` (a0 + a1), expanded on first use.
    fn producer_mask(&mut self, key: MaskKey, shape: &[usize]) -> &RingTensor<R> {
        let Randomness::Producer(seeds) = &self.randomness else { unreachable!("only the producer") };
        let seeds = seeds.clone();
        self.masks.producer.entry(key).or_insert_with(|| {
            let [first, second] =
                seeds.map(|seed| Prg::new(&seed.derive(key.label())).ring_tensor::<R>(shape));
            first.add(&second).expect("same shape")
        })
    }

    /// Servers: opens x − a_x for every factor whose mask is not open yet,
    /// all in one exchange.
    ///
    /// Communication: each server sends Σ |x|·k/8 bytes over the unopened
    /// factors to the other; one round if any factor is unopened, none
    /// otherwise.
    pub(super) fn open_factors(
        &mut self,
        server: usize,
        factors: &[Factor<'_, R>],
        communicator: &mut dyn Communicator,
    ) -> Result<()> {
        let mut pending: Vec<&Factor<'_, R>> = Vec::new();
        for factor in factors {
            self.ensure_server_mask(factor.key, factor.shape);
            let open = self.masks.server[&factor.key].opened.is_some();
            if !open && !pending.iter().any(|p| p.key == factor.key) {
                pending.push(factor);
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        let mine: Vec<RingTensor<R>> = pending
            .iter()
            .map(|factor| {
                let share = factor.share.expect("servers pass their shares");
                share.sub(&self.masks.server[&factor.key].share).expect("mask has the value's shape")
            })
            .collect();
        let mut payload = Vec::with_capacity(mine.iter().map(|t| t.len() * R::BYTES).sum());
        for masked in &mine {
            payload.extend_from_slice(masked.le_bytes());
        }
        let other = SERVERS[1 - server];
        let expected = payload.len();
        communicator.send(other, payload, Traffic::Online)?;
        let theirs = communicator.receive(other, expected)?;
        let mut offset = 0;
        for (factor, my_part) in pending.iter().zip(mine) {
            let bytes = my_part.len() * R::BYTES;
            let their_part = RingTensor::from_le_bytes(factor.shape, &theirs[offset..offset + bytes])
                .expect("length checked by receive");
            offset += bytes;
            let opened = my_part.add(&their_part).expect("same shape");
            self.masks.server.get_mut(&factor.key).expect("ensured above").opened = Some(opened);
        }
        Ok(())
    }

    /// Server `server`'s share of c for product `slot` of node `id`:
    /// server0 expands it from its seed, server1 receives it from the
    /// producer (|z|·k/8 bytes, offline).
    fn triple_share(
        &mut self,
        server: usize,
        id: NodeId,
        slot: usize,
        shape: &[usize],
        communicator: &mut dyn Communicator,
    ) -> Result<RingTensor<R>> {
        if server == 0 {
            Ok(Prg::new(&self.server_seed().derive(triple_label(id, slot))).ring_tensor(shape))
        } else {
            let bytes = communicator.receive(PRODUCER, shape.iter().product::<usize>() * R::BYTES)?;
            Ok(RingTensor::from_le_bytes(shape, &bytes).expect("length checked by receive"))
        }
    }

    /// Servers: this server's share of `product` of the open factors x, y.
    pub(super) fn combine(
        &mut self,
        server: usize,
        product: &Product<'_>,
        (x, y): (MaskKey, MaskKey),
        communicator: &mut dyn Communicator,
    ) -> Result<RingTensor<R>> {
        let Product { id, slot, op, shape } = *product;
        let c = self.triple_share(server, id, slot, shape, communicator)?;
        let (mask_x, mask_y) = (&self.masks.server[&x], &self.masks.server[&y]);
        let (e, d) = (mask_x.opened.as_ref().expect("opened"), mask_y.opened.as_ref().expect("opened"));
        let error = ring_error(&self.state.graph, id);
        let b_term = if server == 0 { mask_y.share.add(d).map_err(&error)? } else { mask_y.share.clone() };
        let mut z = clear::product(op, e, &b_term).map_err(&error)?;
        z.add_assign(&clear::product(op, &mask_x.share, d).map_err(&error)?).map_err(&error)?;
        z.add_assign(&c).map_err(&error)?;
        Ok(z)
    }

    /// Producer: deals c1 = a_x ⊙ a_y − c0 for `product` to server1
    /// (|z|·k/8 bytes, offline).
    pub(super) fn deal_triple(
        &mut self,
        product: &Product<'_>,
        (x, y): (&Factor<'_, R>, &Factor<'_, R>),
        communicator: &mut dyn Communicator,
    ) -> Result<()> {
        let Product { id, slot, op, shape } = *product;
        let a = self.producer_mask(x.key, x.shape).clone();
        let b = self.producer_mask(y.key, y.shape);
        let c = clear::product(op, &a, b).map_err(ring_error(&self.state.graph, id))?;
        let Randomness::Producer([seed0, _]) = &self.randomness else { unreachable!("only the producer") };
        let c0: RingTensor<R> = Prg::new(&seed0.derive(triple_label(id, slot))).ring_tensor(shape);
        let c1 = c.sub(&c0).expect("same shape");
        communicator.send(SERVERS[1], c1.to_le_bytes(), Traffic::Offline)
    }
}

/// A shared product z = x ⊙ y (mul, matmul or conv2d) at node `id`.
///
/// Communication: online, 2·(|x| + |y|)·k/8 bytes in one round when neither
/// mask is open yet (only the unopened ones count; 0 bytes and 0 rounds if
/// both were opened by earlier products); offline, |z|·k/8 bytes from the
/// producer to server1.
pub(super) fn multiply<R: RingElement>(
    party: &mut PondParty<R>,
    id: NodeId,
    (left, right): (NodeId, NodeId),
    communicator: &mut dyn Communicator,
) -> Result<Local<R>> {
    let graph = std::sync::Arc::clone(&party.state.graph);
    let node = graph.node(id).expect("valid id");
    let shape_of = |operand: NodeId| graph.node(operand).expect("valid operand").ty.shape.as_slice();
    match party.role {
        Role::Server(server) => {
            let x = party.share_value(left, id)?.clone();
            let y = party.share_value(right, id)?.clone();
            let factors = [
                Factor { key: MaskKey::Value(left), shape: shape_of(left), share: Some(&x) },
                Factor { key: MaskKey::Value(right), shape: shape_of(right), share: Some(&y) },
            ];
            party.open_factors(server, &factors, communicator)?;
            let keys = (MaskKey::Value(left), MaskKey::Value(right));
            let product = Product { id, slot: 0, op: &node.op, shape: &node.ty.shape };
            Ok(Local::Share(party.combine(server, &product, keys, communicator)?))
        }
        Role::Producer => {
            let x = Factor { key: MaskKey::Value(left), shape: shape_of(left), share: None };
            let y = Factor { key: MaskKey::Value(right), shape: shape_of(right), share: None };
            let product = Product { id, slot: 0, op: &node.op, shape: &node.ty.shape };
            party.deal_triple(&product, (&x, &y), communicator)?;
            Ok(Local::Absent)
        }
        Role::Other => Ok(Local::Absent),
    }
}

#[cfg(test)]
mod tests {
    use blindfold_ir::{Conv2dGeometry, Graph, GraphBuilder, Ring};
    use ndarray::{ArrayD, IxDyn};

    use crate::communicator::Traffic;
    use crate::test_network::{inputs, node_named, run};

    /// Integers in [−1000, 1000] (exact in fixed point and f64).
    fn integers(shape: &[usize], seed: i64) -> ArrayD<f64> {
        let count: usize = shape.iter().product();
        let values = (0..count as i64).map(|i| ((i * 7919 + seed * 104_729) % 2001 - 1000) as f64).collect();
        ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
    }

    /// `x ⊙ y` of two owners' integer inputs, revealed to "a".
    fn product_graph(ring: Ring, x: &[usize], y: &[usize], op: &str) -> Graph {
        let mut g = GraphBuilder::with_ring(ring);
        let a = g.private_integer_input("a", "x", x).unwrap();
        let b = g.private_integer_input("b", "y", y).unwrap();
        let (a, b) = (g.share(a).unwrap(), g.share(b).unwrap());
        let z = match op {
            "mul" => g.mul(a, b),
            "matmul" => g.matmul(a, b),
            _ => g.conv2d(a, b, Conv2dGeometry::uniform(1, 1)),
        }
        .unwrap();
        g.output("a", "z", z).unwrap();
        g.finish()
    }

    fn check_product<R: blindfold_ring::RingElement>(ring: Ring, op: &str, x: &[usize], y: &[usize]) {
        let (xs, ys) = (integers(x, 1), integers(y, 2));
        let expected = match op {
            "mul" => &xs * &ys,
            "matmul" => {
                let x2: ndarray::Array2<f64> = xs.clone().into_dimensionality().unwrap();
                let y2: ndarray::Array2<f64> = ys.clone().into_dimensionality().unwrap();
                x2.dot(&y2).into_dyn()
            }
            _ => {
                // The clear convolution of the same integers (the plaintext
                // backend's fixed-point arithmetic is exact on them).
                let graph = product_graph(ring, x, y, op);
                let values = inputs(vec![("a", "x", xs.clone()), ("b", "y", ys.clone())]);
                crate::plaintext::run_fixed_point::<R>(&graph, &values).unwrap()["a"]["z"].clone()
            }
        };
        let graph = product_graph(ring, x, y, op);
        let parties = run::<R>(&graph, &inputs(vec![("a", "x", xs), ("b", "y", ys)]));
        assert_eq!(parties["a"].outputs["z"], expected, "{op} in {ring:?}");
        // Documented cost: each server opens both factors (|x| + |y|
        // elements each way); the producer deals |z| elements to server1.
        let node = node_named(&graph, op);
        let (size, bytes) = (graph.node(node).unwrap().ty.len(), R::BYTES);
        let opened = (xs_len(x) + xs_len(y)) * bytes;
        assert_eq!(parties["server0"].bytes(node, Traffic::Online), opened);
        assert_eq!(parties["server1"].bytes(node, Traffic::Online), opened);
        assert_eq!(parties["producer"].bytes(node, Traffic::Offline), size * bytes);
    }

    fn xs_len(shape: &[usize]) -> usize {
        shape.iter().product()
    }

    #[test]
    fn shares_of_every_product_add_up_to_the_product() {
        check_product::<u64>(Ring::Z64, "mul", &[3, 4], &[3, 4]);
        check_product::<u128>(Ring::Z128, "mul", &[3, 4], &[3, 4]);
        check_product::<u64>(Ring::Z64, "matmul", &[3, 5], &[5, 2]);
        check_product::<u128>(Ring::Z128, "matmul", &[3, 5], &[5, 2]);
        check_product::<u64>(Ring::Z64, "conv2d", &[2, 2, 5, 5], &[3, 2, 3, 3]);
    }

    #[test]
    fn a_factor_is_opened_once_for_all_its_products() {
        let mut g = GraphBuilder::with_ring(Ring::Z64);
        let x = g.private_integer_input("a", "x", &[8]).unwrap();
        let y = g.private_integer_input("b", "y", &[8]).unwrap();
        let w = g.private_integer_input("b", "w", &[8]).unwrap();
        let (x, y, w) = (g.share(x).unwrap(), g.share(y).unwrap(), g.share(w).unwrap());
        let first = g.mul(x, y).unwrap();
        let second = g.mul(x, w).unwrap();
        let third = g.mul(x, y).unwrap();
        for (name, z) in [("first", first), ("second", second), ("third", third)] {
            g.output("a", name, z).unwrap();
        }
        let graph = g.finish();
        let (xs, ys, ws) = (integers(&[8], 3), integers(&[8], 4), integers(&[8], 5));
        let values = inputs(vec![("a", "x", xs.clone()), ("b", "y", ys.clone()), ("b", "w", ws.clone())]);
        let parties = run::<u64>(&graph, &values);
        assert_eq!(parties["a"].outputs["second"], &xs * &ws);
        assert_eq!(parties["a"].outputs["third"], &xs * &ys);
        let products: Vec<_> =
            graph.nodes().iter().enumerate().filter(|(_, n)| n.op.name() == "mul").map(|(i, _)| i).collect();
        let online = |i: usize| parties["server0"].bytes(blindfold_ir::NodeId(i as u32), Traffic::Online);
        // x and y opened by the first, only w by the second, nothing by the third.
        assert_eq!([online(products[0]), online(products[1]), online(products[2])], [16 * 8, 8 * 8, 0]);
    }

    #[test]
    fn what_a_server_opens_is_masked_afresh_each_session() {
        // The same secret twice: server0's opening message differs (fresh
        // masks), and is not the secret's encoding.
        let graph = product_graph(Ring::Z64, &[16], &[16], "mul");
        let xs = ArrayD::from_elem(IxDyn(&[16]), 7.0);
        let values = inputs(vec![("a", "x", xs.clone()), ("b", "y", xs)]);
        let node = node_named(&graph, "mul");
        let opening = |parties: &std::collections::BTreeMap<String, crate::test_network::PartyRun>| {
            parties["server0"].sent.iter().find(|s| s.node == Some(node)).unwrap().payload.clone()
        };
        let (first, second) = (opening(&run::<u64>(&graph, &values)), opening(&run::<u64>(&graph, &values)));
        assert_ne!(first, second);
        assert!(first.chunks(8).all(|c| c != 7u64.to_le_bytes()), "an unmasked element was sent");
    }
}
