//! recoup's data contract.
//!
//! This crate defines, in one place, what a lender or collection agency exports to recoup:
//! the raw tables (their columns, types and rules, as plain descriptors in [`schema`]),
//! the typed vocabularies used in them ([`vocab`]), the treatment catalog ([`catalog`]) and
//! the export manifest ([`manifest`]). It has no heavy dependencies so that the scorer and
//! other services can link it alone.
//!
//! ```
//! use recoup_core::schema::{Table, TableSchema};
//! let accounts: &TableSchema = Table::Accounts.schema();
//! assert_eq!(accounts.primary_key, &["account_id"]);
//! assert!(accounts.column("time_zone").is_some());
//! ```

pub mod catalog;
pub mod error;
pub mod files;
pub mod manifest;
pub mod schema;
pub mod vocab;

pub use catalog::{Eligibility, Offer, Treatment, TreatmentCatalog};
pub use error::{ContractError, InvalidSetting};
pub use files::{AtomicFile, FileError, schema_hash, write_atomic};
pub use manifest::ExportManifest;
pub use schema::{ColumnSpec, ColumnType, Table, TableSchema, ValueRule};
pub use vocab::{
    AccountStatus, Channel, ContactOutcome, PaymentMethod, PaymentVia, PolicyArm, Product,
    TreatmentKind,
};
