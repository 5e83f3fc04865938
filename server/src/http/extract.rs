//! Extractors that turn axum's rejections into [`ApiError`]s, so malformed input always gets a
//! JSON error body with a message, never axum's plain-text default.

use axum::extract::{FromRequest, FromRequestParts};

use super::error::ApiError;

/// `Json`, with a bad body answered as an [`ApiError`].
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query`, with a bad query string answered as an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path`, with a bad id in the URL answered as an [`ApiError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
