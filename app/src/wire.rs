//! How the dashboard's server functions put their arguments and answers on the wire: JSON, read
//! in two steps on the client.
//!
//! Every type a server function returns would otherwise get its own copy of `serde_json`'s
//! streaming parser, specialized to that type. Parsing the bytes to a [`serde_json::Value`] once
//! and reading each type out of the `Value` keeps one parser in the WASM, and the per-type code it
//! needs is much smaller. The wire format is plain JSON either way; the server reads and writes it
//! as before.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// JSON, read through a [`serde_json::Value`].
pub struct JsonViaValue;

/// Arguments and answers as JSON in the body of a `POST`.
pub type Json = Post<JsonViaValue>;

impl ContentType for JsonViaValue {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonViaValue {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonViaValue {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonViaValue {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let value: serde_json::Value = serde_json::from_slice(&bytes)?;
        T::deserialize(value)
    }
}
