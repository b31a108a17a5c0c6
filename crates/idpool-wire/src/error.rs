//! The one error shape every protocol renders: AWS code, message, HTTP status (spec §1.5, §5.1).

/// Who AWS blames for an error; awsQuery puts it in `<Type>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Sender,
    Receiver,
}

/// An error as AWS puts it on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// The AWS error code (`__type` in JSON, `<Code>` in XML).
    pub code: String,
    pub message: String,
    pub status: u16,
    pub fault: Fault,
    /// IAM-layer errors in JSON services spell the message member `Message` (spec §1.5.1).
    pub capital_message: bool,
}

impl WireError {
    /// A client error answered with HTTP 400.
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::with_status(400, code, message)
    }

    pub fn with_status(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        WireError {
            code: code.into(),
            message: message.into(),
            status,
            fault: if status >= 500 {
                Fault::Receiver
            } else {
                Fault::Sender
            },
            capital_message: false,
        }
    }

    /// An internal failure; the message never carries the cause.
    pub fn internal(code: impl Into<String>) -> Self {
        Self::with_status(500, code, "An internal error occurred. Please try again.")
    }

    pub fn capitalised(mut self) -> Self {
        self.capital_message = true;
        self
    }

    /// The JSON body of an awsJson1_1 error.
    pub fn json_body(&self) -> String {
        let key = if self.capital_message {
            "Message"
        } else {
            "message"
        };
        let mut map = serde_json::Map::new();
        map.insert("__type".into(), self.code.clone().into());
        map.insert(key.into(), self.message.clone().into());
        serde_json::Value::Object(map).to_string()
    }

    /// The `x-amzn-ErrorType` header value, with the trailing colon the real service sends.
    pub fn json_error_type_header(&self) -> String {
        format!("{}:", self.code)
    }

    /// The awsQuery XML error document for a service namespace such as
    /// `https://sts.amazonaws.com/doc/2011-06-15/`; IAM omits the namespace on errors.
    pub fn xml_body(&self, namespace: Option<&str>, request_id: &str) -> String {
        let mut w = crate::xml::XmlWriter::new();
        match namespace {
            Some(ns) => w.open_ns("ErrorResponse", ns),
            None => w.open("ErrorResponse"),
        }
        w.open("Error");
        w.leaf(
            "Type",
            match self.fault {
                Fault::Sender => "Sender",
                Fault::Receiver => "Receiver",
            },
        );
        w.leaf("Code", &self.code);
        w.leaf("Message", &self.message);
        w.close("Error");
        w.leaf("RequestId", request_id);
        w.close("ErrorResponse");
        w.finish()
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for WireError {}
