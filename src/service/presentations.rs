//! Presentations: challenges this server issues and verifying presentations against them.

use super::*;

impl Service {
    /// A fresh single-use challenge for a presentation.
    pub fn challenge(&self) -> Result<Value, ServiceError> {
        let (challenge, expires) = self
            .challenges
            .issue()
            .ok_or_else(|| ServiceError::Internal("too many outstanding challenges".into()))?;
        Ok(
            json!({"challenge": challenge, "expires": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
        )
    }

    /// VC-API presentation verify: `{verifiablePresentation, options: {challenge, domain}}`.
    pub async fn verify_presentation(
        &self,
        body: &Value,
    ) -> Result<crate::credential::presentation::PresentationReport, ServiceError> {
        let body =
            body.as_object().ok_or_else(|| ServiceError::bad("the request body must be a JSON object"))?;
        let presentation = body
            .get("verifiablePresentation")
            .ok_or_else(|| ServiceError::bad("the request has no \"verifiablePresentation\""))?;
        let options = match body.get("options") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(o)) => o.clone(),
            Some(_) => return Err(ServiceError::bad("\"options\" must be a JSON object")),
        };
        let text = |name: &str| -> Result<Option<String>, ServiceError> {
            match options.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ServiceError::bad(format!("options.{name} must be a string"))),
            }
        };
        let expected = crate::credential::presentation::PresentationOptions {
            challenge: text("challenge")?,
            domain: text("domain")?,
            recipient_identifier: text("recipientIdentifier")?,
        };
        Ok(self.verifier.verify_presentation(presentation, &expected, Some(&self.challenges)).await)
    }
}
