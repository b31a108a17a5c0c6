//! awsQuery input for IAM and STS: form bodies, `Action`/`Version`, `member.N` lists (spec §5.1).

use std::collections::BTreeMap;

/// The IAM API version the slice speaks.
pub const IAM_VERSION: &str = "2010-05-08";
/// The STS API version the slice speaks.
pub const STS_VERSION: &str = "2011-06-15";
/// XML namespace of IAM responses.
pub const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// XML namespace of STS responses and errors.
pub const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Which query service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryService {
    Iam,
    Sts,
}

impl QueryService {
    pub fn namespace(self) -> &'static str {
        match self {
            QueryService::Iam => IAM_NAMESPACE,
            QueryService::Sts => STS_NAMESPACE,
        }
    }

    pub fn signing_name(self) -> &'static str {
        match self {
            QueryService::Iam => "iam",
            QueryService::Sts => "sts",
        }
    }
}

/// The decoded parameters of one query request. Later duplicates win, as in AWS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParams {
    map: BTreeMap<String, String>,
}

impl QueryParams {
    pub fn parse(body: &[u8]) -> QueryParams {
        let map = form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned()));
        QueryParams { map: map.collect() }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    pub fn action(&self) -> Option<&str> {
        self.get("Action")
    }

    pub fn version(&self) -> Option<&str> {
        self.get("Version")
    }

    /// Values of a list `<prefix>.member.1`, `.member.2`, ... in order, stopping at the
    /// first gap. `None` when the list is absent entirely.
    pub fn list(&self, prefix: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for i in 1.. {
            match self.map.get(&format!("{prefix}.member.{i}")) {
                Some(v) => out.push(v.clone()),
                None => break,
            }
        }
        if out.is_empty() && !self.map.contains_key(prefix) {
            return None;
        }
        Some(out)
    }

    /// A list of structures `<prefix>.member.N.<field>`: one map of field -> value per entry.
    pub fn struct_list(&self, prefix: &str) -> Option<Vec<BTreeMap<String, String>>> {
        let mut out = Vec::new();
        for i in 1.. {
            let head = format!("{prefix}.member.{i}.");
            let fields: BTreeMap<String, String> = self
                .map
                .range(head.clone()..)
                .take_while(|(k, _)| k.starts_with(&head))
                .map(|(k, v)| (k[head.len()..].to_string(), v.clone()))
                .collect();
            if fields.is_empty() {
                break;
            }
            out.push(fields);
        }
        if out.is_empty() { None } else { Some(out) }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Decides IAM or STS from the `Version` parameter, falling back to the signing name.
pub fn service_of(params: &QueryParams, signing_name: Option<&str>) -> Option<QueryService> {
    match params.version() {
        Some(IAM_VERSION) => Some(QueryService::Iam),
        Some(STS_VERSION) => Some(QueryService::Sts),
        _ => match signing_name {
            Some("iam") => Some(QueryService::Iam),
            Some("sts") => Some(QueryService::Sts),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_structs() {
        let p = QueryParams::parse(
            b"Action=CreateRole&Version=2010-05-08&Tags.member.1.Key=a&Tags.member.1.Value=b\
              &Tags.member.2.Key=c&Tags.member.2.Value=&ClientIDList.member.1=x%2By&ClientIDList.member.2=z",
        );
        assert_eq!(p.action(), Some("CreateRole"));
        assert_eq!(p.list("ClientIDList").unwrap(), vec!["x+y", "z"]);
        let tags = p.struct_list("Tags").unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[1]["Key"], "c");
        assert_eq!(tags[1]["Value"], "");
        assert!(p.list("Missing").is_none());
        assert_eq!(service_of(&p, None), Some(QueryService::Iam));
    }
}
