//! IAM OIDC and SAML providers in SQLite, two tables keyed by ARN (design.md "Storage").

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, changed, db_err};
use crate::{OidcProviderRow, ProviderStore, SamlProviderRow, StoreError, StoreResult};

/// The two provider tables; table names are never built from input.
#[derive(Clone, Copy)]
enum Kind {
    Oidc,
    Saml,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Oidc => "oidc_providers",
            Kind::Saml => "saml_providers",
        }
    }
}

/// (arn, created_ms, document), the shape both row types share.
type Row = (String, i64, String);

impl SqliteStore {
    async fn insert_provider(&self, kind: Kind, row: Row) -> StoreResult<()> {
        self.write(move |tx| {
            let sql = format!(
                "INSERT INTO {} (arn, created_ms, document) VALUES (?1, ?2, ?3)",
                kind.table()
            );
            tx.prepare_cached(&sql)
                .and_then(|mut stmt| stmt.execute(params![row.0, row.1, row.2]))
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_provider(&self, kind: Kind, arn: &str) -> StoreResult<Option<Row>> {
        let arn = arn.to_owned();
        self.read(move |tx| {
            let sql = format!(
                "SELECT arn, created_ms, document FROM {} WHERE arn = ?1",
                kind.table()
            );
            tx.prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_row([&arn], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                })
                .map_err(db_err)
        })
        .await
    }

    async fn update_provider(&self, kind: Kind, arn: &str, document: &str) -> StoreResult<()> {
        let arn = arn.to_owned();
        let document = document.to_owned();
        self.write(move |tx| {
            let sql = format!("UPDATE {} SET document = ?2 WHERE arn = ?1", kind.table());
            let updated = changed(
                tx.prepare_cached(&sql)
                    .and_then(|mut stmt| stmt.execute(params![arn, document])),
            )?;
            if updated {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
        .await
    }

    async fn delete_provider(&self, kind: Kind, arn: &str) -> StoreResult<()> {
        let arn = arn.to_owned();
        self.write(move |tx| {
            let sql = format!("DELETE FROM {} WHERE arn = ?1", kind.table());
            let deleted = changed(
                tx.prepare_cached(&sql)
                    .and_then(|mut stmt| stmt.execute([&arn])),
            )?;
            if deleted {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
        .await
    }

    async fn list_providers(&self, kind: Kind) -> StoreResult<Vec<Row>> {
        self.read(move |tx| {
            let sql = format!(
                "SELECT arn, created_ms, document FROM {} ORDER BY arn",
                kind.table()
            );
            tx.prepare_cached(&sql)
                .and_then(|mut stmt| {
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect()
                })
                .map_err(db_err)
        })
        .await
    }
}

fn oidc((arn, created_ms, document): Row) -> OidcProviderRow {
    OidcProviderRow {
        arn,
        created_ms,
        document,
    }
}

fn saml((arn, created_ms, document): Row) -> SamlProviderRow {
    SamlProviderRow {
        arn,
        created_ms,
        document,
    }
}

#[async_trait]
impl ProviderStore for SqliteStore {
    async fn insert_oidc_provider(&self, p: &OidcProviderRow) -> StoreResult<()> {
        let row = (p.arn.clone(), p.created_ms, p.document.clone());
        self.insert_provider(Kind::Oidc, row).await
    }

    async fn get_oidc_provider(&self, arn: &str) -> StoreResult<Option<OidcProviderRow>> {
        Ok(self.get_provider(Kind::Oidc, arn).await?.map(oidc))
    }

    async fn update_oidc_provider(&self, p: &OidcProviderRow) -> StoreResult<()> {
        self.update_provider(Kind::Oidc, &p.arn, &p.document).await
    }

    async fn delete_oidc_provider(&self, arn: &str) -> StoreResult<()> {
        self.delete_provider(Kind::Oidc, arn).await
    }

    async fn list_oidc_providers(&self) -> StoreResult<Vec<OidcProviderRow>> {
        Ok(self
            .list_providers(Kind::Oidc)
            .await?
            .into_iter()
            .map(oidc)
            .collect())
    }

    async fn insert_saml_provider(&self, p: &SamlProviderRow) -> StoreResult<()> {
        let row = (p.arn.clone(), p.created_ms, p.document.clone());
        self.insert_provider(Kind::Saml, row).await
    }

    async fn get_saml_provider(&self, arn: &str) -> StoreResult<Option<SamlProviderRow>> {
        Ok(self.get_provider(Kind::Saml, arn).await?.map(saml))
    }

    async fn update_saml_provider(&self, p: &SamlProviderRow) -> StoreResult<()> {
        self.update_provider(Kind::Saml, &p.arn, &p.document).await
    }

    async fn delete_saml_provider(&self, arn: &str) -> StoreResult<()> {
        self.delete_provider(Kind::Saml, arn).await
    }

    async fn list_saml_providers(&self) -> StoreResult<Vec<SamlProviderRow>> {
        Ok(self
            .list_providers(Kind::Saml)
            .await?
            .into_iter()
            .map(saml)
            .collect())
    }
}
