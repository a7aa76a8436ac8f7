//! What every value in a graph carries: shape, dtype and visibility.

use serde::{Deserialize, Serialize};

/// Who can read a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Visibility {
    /// Everybody.
    Public,
    /// One named party, in the clear.
    Private(String),
    /// Nobody: split among the compute parties by the session's protocol.
    Shared,
}

impl std::fmt::Display for Visibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Visibility::Public => f.write_str("public"),
            Visibility::Private(party) => write!(f, "private to {party}"),
            Visibility::Shared => f.write_str("shared"),
        }
    }
}

/// How a value's ring elements are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DType {
    /// A real number in fixed point with this many fractional bits.
    Fixed { fractional_bits: u32 },
    /// A ring integer (signed reading).
    Integer,
}

impl DType {
    /// Fractional bits (0 for integers).
    pub fn fractional_bits(&self) -> u32 {
        match self {
            DType::Fixed { fractional_bits } => *fractional_bits,
            DType::Integer => 0,
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DType::Fixed { fractional_bits } => write!(f, "fixed{fractional_bits}"),
            DType::Integer => f.write_str("integer"),
        }
    }
}

/// The ring a graph computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ring {
    /// Z_2^64.
    Z64,
    /// Z_2^128.
    Z128,
}

impl Ring {
    /// Bits of the ring.
    pub fn bits(&self) -> u32 {
        match self {
            Ring::Z64 => 64,
            Ring::Z128 => 128,
        }
    }

    /// The ring's name: "z64" or "z128".
    pub fn name(&self) -> &'static str {
        match self {
            Ring::Z64 => "z64",
            Ring::Z128 => "z128",
        }
    }

    /// The default fractional bits of fixed-point values in this ring.
    pub fn default_fractional_bits(&self) -> u32 {
        use blindfold_ring::RingElement;
        match self {
            Ring::Z64 => u64::DEFAULT_FRACTIONAL_BITS,
            Ring::Z128 => u128::DEFAULT_FRACTIONAL_BITS,
        }
    }
}

/// A ring name that is neither "z64" nor "z128".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("ring '{0}': choose z128 or z64")]
pub struct UnknownRing(pub String);

impl std::str::FromStr for Ring {
    type Err = UnknownRing;

    fn from_str(name: &str) -> Result<Ring, UnknownRing> {
        [Ring::Z64, Ring::Z128].into_iter().find(|r| r.name() == name).ok_or_else(|| UnknownRing(name.into()))
    }
}

/// The most elements one value of a graph may have: 2^28, that is 2 GiB of
/// Z_2^64 shares or 4 GiB of Z_2^128 shares at each party that holds it. A
/// larger value (a huge declared input, a convolution padded without end)
/// is refused when the graph is built or decoded, before anything
/// allocates it. A constant, so that a graph valid at one party is valid at
/// all.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// Shape, dtype and visibility of a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValueType {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub visibility: Visibility,
}

impl ValueType {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the value has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
