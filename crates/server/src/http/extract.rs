//! Extractors that answer bad input with typed JSON errors: bodies, paths, queries, the caller.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use cromulent_proto::ErrorCode;
use serde::de::DeserializeOwned;

use super::{ApiError, origin_allowed, session_cookie};
use crate::app::AppState;
use crate::domain::principal::Principal;
use crate::service::Error;

/// A JSON request body; malformed, oversized or mistyped bodies become typed errors.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_error(&rejection)),
        }
    }
}

fn json_error(rejection: &JsonRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge, "The request body is too large.")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with Content-Type: application/json.",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidBody,
            format!("The body has the wrong shape: {}", rejection.body_text()),
        ),
        _ => ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidJson, "The request body is not valid JSON."),
    }
}

/// Path parameters; a malformed id names nothing, so it is a 404 like an unknown one.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "Nothing has that id."))
    }
}

/// Query parameters; malformed ones become a 422.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state).await.map(|Query(value)| ApiQuery(value)).map_err(|rejection| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidQuery,
                format!("Bad query parameters: {}", rejection.body_text()),
            )
        })
    }
}

/// The caller, from `Authorization: Bearer` or the session cookie. Cookie-authenticated
/// requests that change state must come from this server's own pages (CSRF defence).
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| token.trim().to_owned());
        let token = match bearer {
            Some(token) => token,
            None => {
                let token = session_cookie(&parts.headers).ok_or(Error::Unauthenticated)?;
                let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
                if !safe && !origin_allowed(&parts.headers, &state.config.http.allowed_origins) {
                    return Err(Error::Forbidden("Cross-origin requests may not use the session cookie.").into());
                }
                token
            }
        };
        Ok(state.chat.authenticate(&token).await?)
    }
}

/// For routes open to everyone that do more for a logged-in caller: no token, or one that no
/// longer works, is simply nobody.
impl axum::extract::OptionalFromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        match <Principal as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(principal) => Ok(Some(principal)),
            Err(_) => Ok(None),
        }
    }
}
