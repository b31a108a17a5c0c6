//! Declarative start-up of SAML providers, role mappings and principal-tag maps from `idpool.toml` (issue 2 item 7, issue 4 items 3-4).

const POOL_ID: &str = "us-east-1:5d2c7a10-3b4e-4f6a-9c8d-7e6f5a4b3c2d";
const SAML_ARN: &str = "arn:aws:iam::000000000000:saml-provider/TestIdP";

fn declared(metadata_file: &str) -> String {
    format!(
        r#"
[[role]]
name = "Staff"
assume_role_policy = '''
{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow",
  "Principal": {{"Federated": "cognito-identity.amazonaws.com"}},
  "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]}}]}}
'''

[[saml_provider]]
name = "TestIdP"
metadata_file = "{metadata_file}"

[[pool]]
id = "{POOL_ID}"
name = "DeclaredMappings"
saml_provider_arns = ["{SAML_ARN}"]
[pool.roles]
authenticated = "arn:aws:iam::000000000000:role/Staff"
[pool.role_mappings."{SAML_ARN}"]
type = "Rules"
ambiguous_role_resolution = "Deny"
rules = [{{ claim = "department", match_type = "Equals", value = "eng", role_arn = "arn:aws:iam::000000000000:role/Staff" }}]
[pool.principal_tags."{SAML_ARN}"]
use_defaults = false
tags = {{ dept = "department" }}
"#
    )
}

fn settings(dir: &std::path::Path, toml_text: &str) -> idpool_server::Settings {
    let cfg = dir.join("idpool.toml");
    std::fs::write(&cfg, toml_text).unwrap();
    let args = idpool_server::ServeArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(dir.to_path_buf()),
        config: Some(cfg),
        ..Default::default()
    };
    let env = |k: &str| match k {
        "IDPOOL_ROOT_ACCESS_KEY_ID" => Some("AKIDDECLARETEST00001".to_string()),
        "IDPOOL_ROOT_SECRET_ACCESS_KEY" => Some("declare/test/secret/000000000000000000000".into()),
        _ => None,
    };
    idpool_server::Settings::resolve(&args, &env).unwrap()
}

#[tokio::test]
async fn saml_providers_role_mappings_and_tag_maps_are_declared_idempotently() {
    let dir = std::env::temp_dir().join(format!("idpool-declare-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let metadata = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../idpool-core/tests/fixtures/saml/metadata.xml");
    let toml_text = declared(&metadata.display().to_string());
    // Twice: the second start finds everything in place and changes nothing.
    for _ in 0..2 {
        let app = idpool_server::Application::build(settings(&dir, &toml_text))
            .await
            .unwrap();
        drop(app);
    }
    let s = settings(&dir, &toml_text);
    let store = idpool_store::open(&s.store_url).await.unwrap();
    let saml = store.get_saml_provider(SAML_ARN).await.unwrap();
    assert!(saml.is_some(), "SAML provider not declared");
    let row = store.get_pool(POOL_ID).await.unwrap().unwrap();
    let pool = idpool_core::cognito::model::Pool::from_row(row).unwrap();
    let mapping = &pool.config.role_mappings.as_ref().unwrap()[SAML_ARN];
    assert_eq!(mapping.kind, "Rules");
    assert_eq!(mapping.ambiguous_role_resolution.as_deref(), Some("Deny"));
    let rules = &mapping.rules_configuration.as_ref().unwrap().rules;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].claim, "department");
    let tags = &pool.config.principal_tag_maps[SAML_ARN];
    assert_eq!(tags.use_defaults, Some(false));
    assert_eq!(
        tags.principal_tags
            .as_ref()
            .unwrap()
            .get("dept")
            .map(String::as_str),
        Some("department")
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_mapping_for_a_provider_the_pool_lacks_stops_start_up() {
    let dir = std::env::temp_dir().join(format!("idpool-declare-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml_text = format!(
        r#"
[[pool]]
id = "{POOL_ID}"
name = "BadMapping"
[pool.roles]
authenticated = "arn:aws:iam::000000000000:role/Nobody"
[pool.role_mappings."graph.facebook.com"]
type = "Token"
ambiguous_role_resolution = "AuthenticatedRole"
"#
    );
    let err = idpool_server::Application::build(settings(&dir, &toml_text))
        .await
        .err()
        .expect("start-up must fail");
    assert!(err.contains("BadMapping"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
