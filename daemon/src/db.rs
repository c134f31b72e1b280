//! The daemon's own state in redb: settings, ratings, jobs, admin sessions.
//!
//! Values are JSON so a record can grow a field without a migration. The `store` crate
//! will own the shared database; until its tables land these live in `web.redb` beside it.

use anyhow::Context;
use redb::{Database, ReadableTable, TableDefinition};
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

pub type Table = TableDefinition<'static, &'static str, &'static str>;

pub const SETTINGS: Table = TableDefinition::new("settings");
pub const RATINGS: Table = TableDefinition::new("ratings");
pub const JOBS: Table = TableDefinition::new("jobs");
pub const ADMIN_SESSIONS: Table = TableDefinition::new("admin_sessions");

pub struct Db {
    db: Database,
}

impl Db {
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        let db = Database::create(path).with_context(|| format!("opening {}", path.display()))?;
        // Create every table up front so reads never meet a missing one.
        let tx = db.begin_write()?;
        for t in [SETTINGS, RATINGS, JOBS, ADMIN_SESSIONS] {
            tx.open_table(t)?;
        }
        tx.commit()?;
        Ok(Db { db })
    }

    pub fn get<T: DeserializeOwned>(&self, table: Table, key: &str) -> anyhow::Result<Option<T>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(table)?;
        match t.get(key)? {
            Some(v) => Ok(Some(serde_json::from_str(v.value())?)),
            None => Ok(None),
        }
    }

    pub fn put<T: Serialize>(&self, table: Table, key: &str, value: &T) -> anyhow::Result<()> {
        let json = serde_json::to_string(value)?;
        let tx = self.db.begin_write()?;
        {
            let mut t = tx.open_table(table)?;
            t.insert(key, json.as_str())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Read-modify-write of one record in a single write transaction.
    pub fn update<T, F>(&self, table: Table, key: &str, f: F) -> anyhow::Result<T>
    where
        T: Serialize + DeserializeOwned + Default,
        F: FnOnce(&mut T),
    {
        let tx = self.db.begin_write()?;
        let value = {
            let mut t = tx.open_table(table)?;
            let mut value: T = match t.get(key)? {
                Some(v) => serde_json::from_str(v.value()).unwrap_or_default(),
                None => T::default(),
            };
            f(&mut value);
            let json = serde_json::to_string(&value)?;
            t.insert(key, json.as_str())?;
            value
        };
        tx.commit()?;
        Ok(value)
    }

    pub fn delete(&self, table: Table, key: &str) -> anyhow::Result<bool> {
        let tx = self.db.begin_write()?;
        let existed = {
            let mut t = tx.open_table(table)?;
            let existed = t.remove(key)?.is_some();
            existed
        };
        tx.commit()?;
        Ok(existed)
    }

    /// Every record of a table, in key order (records that no longer parse are skipped).
    pub fn all<T: DeserializeOwned>(&self, table: Table) -> anyhow::Result<Vec<(String, T)>> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(table)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            if let Ok(v) = serde_json::from_str(v.value()) {
                out.push((k.value().to_string(), v));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_update_delete_survive_reopen() {
        let dir = std::env::temp_dir().join(format!("sidflow-db-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.redb");
        {
            let db = Db::open(&path).unwrap();
            db.put(SETTINGS, "a", &5u32).unwrap();
            let v: u32 = db.update(SETTINGS, "a", |v: &mut u32| *v += 1).unwrap();
            assert_eq!(v, 6);
            let v: u32 = db.update(SETTINGS, "b", |v: &mut u32| *v += 1).unwrap();
            assert_eq!(v, 1);
        }
        let db = Db::open(&path).unwrap();
        assert_eq!(db.get::<u32>(SETTINGS, "a").unwrap(), Some(6));
        assert_eq!(db.all::<u32>(SETTINGS).unwrap().len(), 2);
        assert!(db.delete(SETTINGS, "a").unwrap());
        assert_eq!(db.get::<u32>(SETTINGS, "a").unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
