//! Differentially private SGD inside the secure computation (Abadi et al.
//! 2016, as Opacus runs it): every example's gradient is clipped to norm C,
//! the clipped gradients are summed, and Gaussian noise of standard
//! deviation σ·C is added before the update, all on shares.
//!
//! - Per-example gradients: the backward pass of the batch's loss with the
//!   seed restricted to one row (exact: a product with a public 0/1 mask).
//! - Clipping: the factor min(1, C/‖g‖) = C/√max(‖g‖², C²), by one
//!   comparison (the max) and the private inverse square root (relative
//!   error below 2^−20 plus rounding; the squared norm and C² must stay
//!   below 2^min(F, m−F−2) for comparisons of m bits — 2^22 with training's
//!   defaults — else the session refuses before it runs).
//! - Noise: each server adds noise of its own, N(0, σ²C²/2) per
//!   coordinate, drawn from its own randomness and shared as its private
//!   input: the sum has the required N(0, σ²C²), and no single party knows
//!   it. Against the model owner, or anyone seeing the released model, the
//!   guarantee is that of σ ([`crate::privacy`]); a server that colluded
//!   with the model owner would know its half, leaving σ/√2 (reported too).

use blindfold_ir::parties::SERVERS;
use blindfold_ir::{GraphBuilder, GraphError, Inputs, Tensor};
use ndarray::ArrayD;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::training::TrainingError;

/// DP-SGD's settings (public).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpSgd {
    /// σ: the noise's standard deviation over the clipping norm.
    pub noise_multiplier: f64,
    /// C: each example's gradient is clipped to this L2 norm.
    pub max_grad_norm: f64,
    /// The δ that ε is reported for.
    pub delta: f64,
}

/// A noise input a server gives: (server, input name, shape).
pub type NoiseInput = (String, String, Vec<usize>);

/// The sum over the batch of each example's gradient clipped to norm C,
/// plus both servers' noise, divided by the batch: the step's gradient for
/// each of `wrt`. `error` is ∂(Σ loss)/∂logits row by row; `step` names the
/// noise inputs, which are appended to `noise`.
#[allow(clippy::too_many_arguments)]
pub fn private_gradients(
    g: &mut GraphBuilder,
    dp: &DpSgd,
    logits: Tensor,
    error: Tensor,
    wrt: &[Tensor],
    step: usize,
    noise: &mut Vec<NoiseInput>,
) -> Result<Vec<Tensor>, GraphError> {
    let shape = g.ty(error).shape.clone();
    let (batch, width) = (shape[0], shape[1..].iter().product::<usize>());
    // Each example's gradients, stacked per parameter: [B, ...].
    let mut per_example: Vec<Vec<Tensor>> = vec![Vec::new(); wrt.len()];
    for example in 0..batch {
        let mut mask = vec![0i64; batch * width];
        mask[example * width..(example + 1) * width].iter_mut().for_each(|m| *m = 1);
        let mask = g.integer_constant(&shape, &mask)?;
        let seed = g.mul(error, mask)?;
        for (stack, gradient) in per_example.iter_mut().zip(g.backward(logits, seed, wrt)?) {
            let mut one = vec![1];
            one.extend(g.ty(gradient).shape.iter().copied());
            stack.push(g.reshape(gradient, &one)?);
        }
    }
    let stacked: Vec<Tensor> =
        per_example.iter().map(|parts| g.concat(parts, 0)).collect::<Result<_, _>>()?;
    // Every example's squared norm, [B], then its clipping factor, all at once.
    let mut squared_norm: Option<Tensor> = None;
    for &gradients in &stacked {
        let squares = g.square(gradients)?;
        let axes: Vec<usize> = (1..g.ty(squares).shape.len()).collect();
        let total = if axes.is_empty() { squares } else { g.sum(squares, &axes, false)? };
        squared_norm = Some(match squared_norm {
            Some(sum) => g.add(sum, total)?,
            None => total,
        });
    }
    let squared_norm = squared_norm.expect("at least one parameter");
    let floor = g.scalar(dp.max_grad_norm * dp.max_grad_norm)?;
    let at_least = g.maximum(squared_norm, floor)?;
    // The inverse square root compares x with powers of two up to its
    // range: within the comparisons' width (2^(m−F−1) real) as well as 2^F.
    let fractional = g.graph().fractional_bits() as i32;
    let range = g.comparison_bits().map_or(fractional, |m| fractional.min(m as i32 - fractional - 2));
    let inverse = g.inverse_sqrt(at_least, range)?;
    let factors = g.scale(inverse, dp.max_grad_norm)?;
    let mut sums = Vec::new();
    for &gradients in &stacked {
        let mut column = vec![batch];
        column.extend(std::iter::repeat_n(1, g.ty(gradients).shape.len() - 1));
        let factor = g.reshape(factors, &column)?;
        let clipped = g.mul(gradients, factor)?;
        sums.push(Some(g.sum(clipped, &[0], false)?));
    }
    let mut out = Vec::new();
    for (index, sum) in sums.into_iter().enumerate() {
        let mut total = sum.expect("a batch of at least one");
        let shape = g.ty(total).shape.clone();
        for server in SERVERS {
            let name = format!("dp-noise/step{step}/parameter{index}");
            let drawn = g.private_input(server, &name, &shape)?;
            let drawn = g.share(drawn)?;
            total = g.add(total, drawn)?;
            noise.push((server.to_string(), name, shape.clone()));
        }
        out.push(g.scale(total, 1.0 / batch as f64)?);
    }
    Ok(out)
}

/// Each server's noise, N(0, σ²C²/2) per coordinate, drawn from the
/// operating system's randomness (each server draws its own: in one
/// process, one draw per server here).
pub fn noise_inputs(dp: &DpSgd, noise: &[NoiseInput]) -> Result<Inputs, TrainingError> {
    let deviation = dp.noise_multiplier * dp.max_grad_norm / std::f64::consts::SQRT_2;
    let mut inputs = Inputs::new();
    for server in SERVERS {
        let mut rng = ChaCha20Rng::try_from_os_rng().map_err(|e| TrainingError::Randomness(e.to_string()))?;
        for (party, name, shape) in noise.iter().filter(|(party, _, _)| party == server) {
            let count: usize = shape.iter().product();
            let values: Vec<f64> = (0..count).map(|_| gaussian(&mut rng) * deviation).collect();
            inputs
                .entry(party.clone())
                .or_default()
                .insert(name.clone(), ArrayD::from_shape_vec(shape.clone(), values).expect("sized"));
        }
    }
    Ok(inputs)
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut ChaCha20Rng) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}
