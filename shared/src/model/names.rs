//! Stable text names for the model's enums (the same `snake_case` words serde uses), for query
//! strings, CLI flags and SQL columns.

/// An enum value given as text that is not one of its names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{given}`; expected one of: {}", expected.join(", "))]
pub struct UnknownName {
    pub kind: &'static str,
    pub given: String,
    pub expected: &'static [&'static str],
}

macro_rules! snake_case_names {
    ($ty:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),* }
            }
        }
        impl std::str::FromStr for $ty {
            type Err = crate::model::names::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($name => Ok(<$ty>::$variant),)* _ => Err(crate::model::names::UnknownName {
                    kind: stringify!($ty),
                    given: s.to_string(),
                    expected: &[$($name),*],
                }) }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use snake_case_names;
