//! Charter's integration tests, one binary: each test starts its own server on port 0 with a
//! fresh database, so they run in parallel. Set DATABASE_URL to a PostgreSQL server to run them
//! all on PostgreSQL.

mod directory;
mod dns;
mod helpers;
mod node;
mod otp;
mod provider;
mod tls;

mod api_keys;
mod architecture;
mod audit;
mod auth;
mod batching;
mod certificates;
mod cli;
mod conformance;
mod console;
mod existence;
mod faults;
mod fleet;
mod graphiql;
mod hostile;
mod http_headers;
mod hygiene;
mod in_process;
mod invitations;
mod ldap;
mod lists;
mod matrix;
mod members;
mod membership_sight;
mod metrics;
mod mfa;
mod oauth;
mod organizations;
mod outbound;
mod planned;
mod presets;
mod role_holders;
mod roles;
mod saml;
mod saml_sign_in;
mod schema;
mod scim;
mod security_keys;
mod shared_keys;
mod sso;
mod text_input;
mod traces;
mod trust;
mod webhooks;
