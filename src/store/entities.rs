//! SeaORM entities of the store's tables. Adapters only: the rest of the
//! code sees `RecordedEvent`, never these models.

pub mod events {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub position: i64,
        #[sea_orm(unique)]
        pub event_id: Uuid,
        pub stream_id: String,
        pub stream_type: String,
        pub version: i32,
        pub event_type: String,
        pub schema_version: i32,
        #[sea_orm(column_type = "JsonBinary")]
        pub data: Json,
        #[sea_orm(column_type = "JsonBinary")]
        pub metadata: Json,
        pub recorded_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod command_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "command_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub command_id: String,
        pub command_name: String,
        pub stream_id: String,
        pub first_position: i64,
        pub last_position: i64,
        pub version: i32,
        pub recorded_at: DateTimeUtc,
        pub payload_hash: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod snapshots {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "snapshots")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub stream_id: String,
        pub stream_type: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub schema_version: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i32,
        #[sea_orm(column_type = "JsonBinary")]
        pub state: Json,
        pub event_recorded_at: DateTimeUtc,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
