//! The bottom layer of blindfold: tensors over the rings Z_2^64 and Z_2^128,
//! fixed-point encoding of real numbers into them, seeded AES-CTR randomness,
//! and the fast wrapping-integer kernels every protocol runs on.
//!
//! ```
//! use blindfold_ring::{FixedPoint, RingTensor};
//! let format = FixedPoint::default_for::<u64>();
//! let x: RingTensor<u64> = format.encode(&[2, 2], &[1.5, -2.0, 0.25, 3.0]).unwrap();
//! let y = x.matmul(&x).unwrap().shift_right_arithmetic(16).unwrap(); // truncate the product
//! assert_eq!(format.decode(&y), vec![1.75, -9.0, 1.125, 8.5]);
//! ```

// The wire and PRG formats are little-endian, and tensors are viewed as
// their bytes in place.
#[cfg(not(target_endian = "little"))]
compile_error!("blindfold supports little-endian targets only");

mod arithmetic;
mod bits;
mod convolution;
pub mod element;
mod error;
pub mod fixed_point;
pub mod kernels;
mod layout;
mod linear_algebra;
pub mod prg;
mod reduction;
mod tensor;
mod windows;

pub use convolution::Conv2dGeometry;
pub use element::RingElement;
pub use error::{Result, RingError};
pub use fixed_point::{FixedPoint, Rounding};
pub use prg::{Prg, Seed};
pub use tensor::{RingTensor, broadcast_shapes};
pub use windows::PlaneWindows;
