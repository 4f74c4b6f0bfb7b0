//! `MembershipConnection`, whose edges and nodes are answered by plan where the selection
//! allows it.
//!
//! A page of members is the schema's widest list: a dashboard asks for hundreds of rows, each
//! a membership with its user and role, and the generic path resolves every field of every row
//! as a future of its own behind its guard. Here the selection is planned once per list
//! ([`crate::graphql::plan`]); each field's guard is decided by [`Gate::decide`] — the
//! decision every guard takes — once per organization, field and kind of row (the viewer's own
//! or not, the role the viewer holds or not), so a row costs one comparison; the roles are read
//! in one batch, each distinct role's answer is built once per list and its grants serialized
//! once per request; and the values are written straight from the rows.
//!
//! Whatever the plan does not cover (a field it does not know, a directive, a row a guard
//! would refuse, a row missing its user) is answered by the generic path, which also gives
//! every error: a planned answer is only ever one without errors.

use std::borrow::Cow;
use std::collections::HashMap;

use async_graphql::connection::{CursorType, Edge, EmptyFields, PageInfo};
use async_graphql::parser::types::{Field, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{
    Context, ContextSelectionSet, InputType, Name, Object, OutputType, Positioned, ScalarType,
    ServerResult, Value,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::membership::{MemberCursor, MemberKey, MemberKind, Membership};
use super::permission::GrantPlan;
use super::{SeatClassValue, User};
use crate::graphql::ContextExt;
use crate::graphql::guards::{Gate, Verdict};
use crate::graphql::ids::NodeId;
use crate::graphql::plan::{Asked, collect};
use crate::services::identity::users::UserRecord;
use crate::services::organization::roles::RoleRecord;

/// One edge of a members list.
pub type MemberEdge = Edge<MemberCursor, Membership, EmptyFields>;

/// A page of memberships.
pub struct MemberConnection {
    edges: Vec<MemberEdge>,
    has_previous_page: bool,
    has_next_page: bool,
    total_count: i64,
}

impl MemberConnection {
    pub fn new(
        has_previous_page: bool,
        has_next_page: bool,
        total_count: i64,
        edges: impl IntoIterator<Item = MemberEdge>,
    ) -> Self {
        Self {
            edges: edges.into_iter().collect(),
            has_previous_page,
            has_next_page,
            total_count,
        }
    }

    /// A page of members (`Organization.members`) as a connection.
    pub fn from_page(
        page: crate::services::Page<crate::services::organization::memberships::Member>,
        has_previous: bool,
        total_count: i64,
    ) -> Self {
        let edges = page.items.into_iter().map(|member| {
            let cursor = crate::graphql::connection::Keyset(MemberKey {
                sort_value: member.sort_value.clone(),
                id: member.membership.id,
            });
            async_graphql::connection::Edge::new(cursor, Membership::with_user(member))
        });
        Self::new(has_previous, page.has_next_page, total_count, edges)
    }
}

// The fields and descriptions of async-graphql's `Connection`, which this type replaces.
#[Object(name = "MembershipConnection")]
impl MemberConnection {
    /// Information to aid in pagination.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            start_cursor: self.edges.first().map(|edge| edge.cursor.encode_cursor()),
            end_cursor: self.edges.last().map(|edge| edge.cursor.encode_cursor()),
        }
    }

    /// A list of edges.
    async fn edges(&self) -> MemberList<'_, false> {
        MemberList(&self.edges)
    }

    /// A list of nodes.
    async fn nodes(&self) -> MemberList<'_, true> {
        MemberList(&self.edges)
    }

    /// How many items the whole list holds.
    async fn total_count(&self) -> i64 {
        self.total_count
    }
}

/// `[MembershipEdge!]!`, or with `NODES` `[Membership!]!`: by plan where it can, else by the
/// generic path.
pub struct MemberList<'a, const NODES: bool>(&'a [MemberEdge]);

impl<const NODES: bool> OutputType for MemberList<'_, NODES> {
    fn type_name() -> Cow<'static, str> {
        match NODES {
            true => <Vec<Membership> as OutputType>::type_name(),
            false => <Vec<MemberEdge> as OutputType>::type_name(),
        }
    }

    fn qualified_type_name() -> String {
        match NODES {
            true => <Vec<Membership> as OutputType>::qualified_type_name(),
            false => <Vec<MemberEdge> as OutputType>::qualified_type_name(),
        }
    }

    fn create_type_info(registry: &mut Registry) -> String {
        match NODES {
            true => <Vec<Membership> as OutputType>::create_type_info(registry),
            false => <Vec<MemberEdge> as OutputType>::create_type_info(registry),
        }
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if let Some(answer) = planned(ctx, field, self.0, NODES).await {
            return Ok(answer);
        }
        if NODES {
            let nodes: Vec<&Membership> = self.0.iter().map(|edge| &edge.node).collect();
            OutputType::resolve(&nodes, ctx, field).await
        } else {
            OutputType::resolve(&self.0, ctx, field).await
        }
    }
}

/// The answer of a list of memberships by plan, or None where the generic path answers it.
async fn planned(
    ctx: &ContextSelectionSet<'_>,
    field: &Positioned<Field>,
    edges: &[MemberEdge],
    nodes: bool,
) -> Option<Value> {
    let field_ctx = ctx.with_field(field);
    if !field_ctx.request().plans_lists() {
        return None;
    }
    let plan = Planner::new(ctx).list(&ctx.item.node, nodes)?;
    let mut sight = Sight::new(&field_ctx)?;
    for edge in edges {
        if !sight.admits(&plan.guarded, &edge.node).await {
            return None;
        }
    }
    let roles = plan.role_answers(&field_ctx, edges).await?;
    let rows = edges.iter().map(|edge| plan.row(edge, &roles));
    let answer = rows.collect::<Option<Vec<_>>>()?;
    field_ctx.request().planned_list();
    Some(Value::List(answer))
}

/// A field of `MembershipEdge` as the plan answers it.
enum EdgeField {
    Cursor,
    Typename,
    /// The membership, by the member plan of this index.
    Node(usize),
}

/// A field of `Membership`.
enum MemberField {
    Id,
    Kind,
    CreatedAt,
    Typename,
    User(Vec<(Name, UserField)>),
    /// The role, by the role plan of this index.
    Role(usize),
}

/// A field of `User` (seen in the membership's organization).
enum UserField {
    Id,
    Email,
    DisplayName,
    CreatedAt,
    MfaEnabled,
    Typename,
}

/// A field of `Role`.
enum RoleField {
    Id,
    Key,
    Name,
    Description,
    Predefined,
    SeatClass,
    Typename,
    Grants(GrantPlan),
}

/// The guarded fields a plan asks, by type: what [`Sight`] decides.
#[derive(Default)]
struct Guarded<'a> {
    membership: Vec<&'a str>,
    user: Vec<&'a str>,
    role: Vec<&'a str>,
}

fn remember<'a>(fields: &mut Vec<&'a str>, name: &'a str) {
    if name != "__typename" && !fields.contains(&name) {
        fields.push(name);
    }
}

/// What a list's selection asks of its rows.
struct Plan<'a> {
    /// The edge's fields; None for a list of nodes (which is member plan 0).
    edge: Option<Vec<(Name, EdgeField)>>,
    members: Vec<Vec<(Name, MemberField)>>,
    roles: Vec<Vec<(Name, RoleField)>>,
    guarded: Guarded<'a>,
}

/// Works out a [`Plan`]; None at the first thing it does not cover.
struct Planner<'c, 'a> {
    ctx: &'c ContextSelectionSet<'a>,
    plan: Plan<'a>,
}

impl<'c, 'a> Planner<'c, 'a> {
    fn new(ctx: &'c ContextSelectionSet<'a>) -> Self {
        Self {
            ctx,
            plan: Plan {
                edge: None,
                members: Vec::new(),
                roles: Vec::new(),
                guarded: Guarded::default(),
            },
        }
    }

    fn asked(&self, type_name: &str, sets: &[&'a SelectionSet]) -> Option<Vec<Asked<'a>>> {
        collect(self.ctx, type_name, sets)
    }

    fn list(mut self, set: &'a SelectionSet, nodes: bool) -> Option<Plan<'a>> {
        if nodes {
            self.member(&[set])?;
            return Some(self.plan);
        }
        let edge_type = <MemberEdge as OutputType>::type_name();
        let mut fields = Vec::new();
        for asked in self.asked(&edge_type, &[set])? {
            let field = match asked.name {
                "cursor" => EdgeField::Cursor,
                "__typename" => EdgeField::Typename,
                "node" => EdgeField::Node(self.member(&asked.sets)?),
                _ => return None,
            };
            fields.push((asked.key, field));
        }
        self.plan.edge = Some(fields);
        Some(self.plan)
    }

    fn member(&mut self, sets: &[&'a SelectionSet]) -> Option<usize> {
        let mut fields = Vec::new();
        for asked in self.asked(&Membership::type_name(), sets)? {
            let field = match asked.name {
                "id" => MemberField::Id,
                "kind" => MemberField::Kind,
                "createdAt" => MemberField::CreatedAt,
                "__typename" => MemberField::Typename,
                "user" => MemberField::User(self.user(&asked.sets)?),
                "role" => MemberField::Role(self.role(&asked.sets)?),
                _ => return None,
            };
            remember(&mut self.plan.guarded.membership, asked.name);
            fields.push((asked.key, field));
        }
        self.plan.members.push(fields);
        Some(self.plan.members.len() - 1)
    }

    fn user(&mut self, sets: &[&'a SelectionSet]) -> Option<Vec<(Name, UserField)>> {
        let mut fields = Vec::new();
        for asked in self.asked(&User::type_name(), sets)? {
            let field = match asked.name {
                "id" => UserField::Id,
                "email" => UserField::Email,
                "displayName" => UserField::DisplayName,
                "createdAt" => UserField::CreatedAt,
                "mfaEnabled" => UserField::MfaEnabled,
                "__typename" => UserField::Typename,
                _ => return None,
            };
            remember(&mut self.plan.guarded.user, asked.name);
            fields.push((asked.key, field));
        }
        Some(fields)
    }

    fn role(&mut self, sets: &[&'a SelectionSet]) -> Option<usize> {
        let mut fields = Vec::new();
        for asked in self.asked(&super::Role::type_name(), sets)? {
            let field = match asked.name {
                "id" => RoleField::Id,
                "key" => RoleField::Key,
                "name" => RoleField::Name,
                "description" => RoleField::Description,
                "predefined" => RoleField::Predefined,
                "seatClass" => RoleField::SeatClass,
                "__typename" => RoleField::Typename,
                "grants" => RoleField::Grants(GrantPlan::of(self.ctx, &asked.sets).ok()?),
                _ => return None,
            };
            remember(&mut self.plan.guarded.role, asked.name);
            fields.push((asked.key, field));
        }
        self.plan.roles.push(fields);
        Some(self.plan.roles.len() - 1)
    }
}

/// Each role plan's answer for each role the page's members hold, by organization and role.
type RoleAnswers = Vec<HashMap<(Uuid, Uuid), Value>>;

impl Plan<'_> {
    /// Reads the roles the page's members hold, in one batch with every other list of the
    /// round, and answers each role plan once per distinct role. None when a role is missing
    /// (the generic path reports it).
    async fn role_answers(&self, ctx: &Context<'_>, edges: &[MemberEdge]) -> Option<RoleAnswers> {
        if self.roles.is_empty() {
            return Some(Vec::new());
        }
        // A role's id names the organization it is seen from: a predefined role is answered
        // once per organization.
        let mut held: Vec<(Uuid, Uuid)> = edges
            .iter()
            .map(|edge| (edge.node.model.organization_id, edge.node.model.role_id))
            .collect();
        held.sort_unstable();
        held.dedup();
        let ids = held.iter().map(|(_, role)| *role);
        let records = ctx.loaders().roles.load_many(ids).await.ok()?;
        let policy = &ctx.state().policy;
        let request = ctx.request();
        let answers = self.roles.iter().map(|fields| {
            let each = held.iter().map(|&(organization, role)| {
                let record = records.get(&role)?;
                // A role's grants are the same wherever the request meets the role (only its
                // id names an organization): serialized once per request and selection.
                let grants = |plan: &GrantPlan| {
                    let key = (role, plan.signature().to_owned());
                    request.answer_once(key, || serialized(&plan.answer(policy, &record.grants)))
                };
                let answer = role_value(fields, record, organization, grants)?;
                Some(((organization, role), answer))
            });
            each.collect::<Option<HashMap<_, _>>>()
        });
        answers.collect()
    }

    /// One row's answer: an edge, or for a list of nodes the membership.
    fn row(&self, edge: &MemberEdge, roles: &RoleAnswers) -> Option<Value> {
        let Some(fields) = &self.edge else {
            return self.member_value(0, &edge.node, roles);
        };
        let mut answer = async_graphql::indexmap::IndexMap::with_capacity(fields.len());
        for (key, field) in fields {
            let value = match field {
                EdgeField::Cursor => Value::String(edge.cursor.encode_cursor()),
                EdgeField::Typename => Value::String(MemberEdge::type_name().into_owned()),
                EdgeField::Node(plan) => self.member_value(*plan, &edge.node, roles)?,
            };
            answer.insert(key.clone(), value);
        }
        Some(Value::Object(answer))
    }

    fn member_value(&self, plan: usize, node: &Membership, roles: &RoleAnswers) -> Option<Value> {
        let fields = &self.members[plan];
        let model = &node.model;
        let mut answer = async_graphql::indexmap::IndexMap::with_capacity(fields.len());
        for (key, field) in fields {
            let value = match field {
                MemberField::Id => id_value(NodeId::Membership(model.id)),
                MemberField::Kind => MemberKind::of(node.read_user()?).to_value(),
                MemberField::CreatedAt => time_value(&model.created_at),
                MemberField::Typename => Value::String(Membership::type_name().into_owned()),
                MemberField::User(fields) => user_value(fields, node.read_user()?),
                MemberField::Role(plan) => {
                    let held = (model.organization_id, model.role_id);
                    roles.get(*plan)?.get(&held)?.clone()
                }
            };
            answer.insert(key.clone(), value);
        }
        Some(Value::Object(answer))
    }
}

/// `value` serialized once, as a value the response writes out as it is: a role's grants (most
/// of a dashboard's bytes), which every row holding the role repeats, are then copied per row
/// as one string instead of rebuilt or cloned as a tree of objects.
/// (async-graphql's `raw_value`: the text is checked to be JSON again when the response is
/// written.)
fn serialized(value: &Value) -> Option<Value> {
    let text = serde_json::to_string(value).ok()?;
    let token = Name::new(async_graphql_value::RAW_VALUE_TOKEN);
    Some(Value::Object(
        [(token, Value::String(text))].into_iter().collect(),
    ))
}

fn id_value(id: NodeId) -> Value {
    Value::String(id.to_id().0)
}

fn time_value(time: &DateTime<Utc>) -> Value {
    ScalarType::to_value(time)
}

fn user_value(fields: &[(Name, UserField)], user: &UserRecord) -> Value {
    let answer = fields.iter().map(|(key, field)| {
        let value = match field {
            UserField::Id => id_value(NodeId::User(user.id)),
            UserField::Email => Value::String(user.email.clone()),
            UserField::DisplayName => Value::String(user.display_name.clone()),
            UserField::CreatedAt => time_value(&user.created_at),
            UserField::MfaEnabled => Value::Boolean(user.mfa_enabled),
            UserField::Typename => Value::String(User::type_name().into_owned()),
        };
        (key.clone(), value)
    });
    Value::Object(answer.collect())
}

/// A role's answer, its grants as `grants` answers them (None when they cannot be).
fn role_value(
    fields: &[(Name, RoleField)],
    role: &RoleRecord,
    organization: Uuid,
    grants: impl Fn(&GrantPlan) -> Option<Value>,
) -> Option<Value> {
    let answer = fields.iter().map(|(key, field)| {
        let value = match field {
            RoleField::Id => id_value(NodeId::Role {
                organization,
                role: role.id,
            }),
            RoleField::Key => Value::String(role.key.clone()),
            RoleField::Name => Value::String(role.name.clone()),
            RoleField::Description => role.description.clone().map_or(Value::Null, Value::String),
            RoleField::Predefined => Value::Boolean(role.predefined),
            RoleField::SeatClass => SeatClassValue::from(role.seat_class).to_value(),
            RoleField::Typename => Value::String(super::Role::type_name().into_owned()),
            RoleField::Grants(plan) => grants(plan)?,
        };
        Some((key.clone(), value))
    });
    Some(Value::Object(answer.collect::<Option<_>>()?))
}

/// The viewer's sight of a list's rows: each guard's decision, taken once per organization,
/// type and kind of row, and remembered.
struct Sight<'c, 'a> {
    ctx: &'c Context<'a>,
    viewer: Uuid,
    /// The role the viewer holds in each organization met (None: not a member).
    held: Vec<(Uuid, Option<Uuid>)>,
    /// Each decision by organization, type and kind of row.
    decided: Vec<((Uuid, &'static str, bool), bool)>,
}

impl<'c, 'a> Sight<'c, 'a> {
    fn new(ctx: &'c Context<'a>) -> Option<Self> {
        Some(Self {
            ctx,
            viewer: ctx.request().viewer_id().ok()?,
            held: Vec::new(),
            decided: Vec::new(),
        })
    }

    /// Whether every guarded field the plan asks passes for `node`, and the row has what the
    /// plan reads.
    async fn admits(&mut self, guarded: &Guarded<'_>, node: &Membership) -> bool {
        let model = &node.model;
        let organization = model.organization_id;
        let own = model.user_id == self.viewer;
        if !guarded.user.is_empty() && node.read_user().is_none() {
            return false;
        }
        let membership = Gate::own("Membership", Some(organization), model.user_id);
        let key = (organization, "Membership", own);
        if !self.passes(key, membership, &guarded.membership).await {
            return false;
        }
        let user = Gate::own("User", Some(organization), model.user_id);
        let key = (organization, "User", own);
        if !self.passes(key, user, &guarded.user).await {
            return false;
        }
        if guarded.role.is_empty() {
            return true;
        }
        let held = self.held_role(organization).await == Some(Some(model.role_id));
        let role = Gate::object("Role", organization).held_role(model.role_id);
        let key = (organization, "Role", held);
        self.passes(key, role, &guarded.role).await
    }

    /// The role the viewer holds in `organization`; None when their access cannot be read.
    async fn held_role(&mut self, organization: Uuid) -> Option<Option<Uuid>> {
        if let Some((_, held)) = self.held.iter().find(|(id, _)| *id == organization) {
            return Some(*held);
        }
        let access = self.ctx.membership_access(organization).await.ok()?;
        let held = access.map(|access| access.role_id());
        self.held.push((organization, held));
        Some(held)
    }

    /// Whether every field of `fields` (of the type `key` names) passes `gate`: decided once
    /// per `key`.
    async fn passes(
        &mut self,
        key: (Uuid, &'static str, bool),
        gate: Gate,
        fields: &[&str],
    ) -> bool {
        if let Some((_, passes)) = self.decided.iter().find(|(known, _)| *known == key) {
            return *passes;
        }
        let passes = self.all_pass(key.1, gate, fields).await;
        self.decided.push((key, passes));
        passes
    }

    async fn all_pass(&self, type_name: &str, gate: Gate, fields: &[&str]) -> bool {
        for field in fields {
            let Some(rule) = self.ctx.declared().rule(type_name, field) else {
                return false;
            };
            let verdict = match gate.access_for(self.ctx, rule).await {
                Ok(access) => gate.decide(self.ctx, rule, access.as_ref()),
                Err(refused) => Err(refused),
            };
            if !matches!(verdict, Ok(Verdict::Pass)) {
                return false;
            }
        }
        true
    }
}
