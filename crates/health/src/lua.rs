//! Running Argo CD-style Lua health scripts in a sandbox.
//!
//! Scripts get the object as the global `obj` (JSON `null` becomes `nil`) and return a
//! table `{status = "...", message = "..."}`. The interpreter (Lua 5.1, as Argo CD uses)
//! only offers the base functions that cannot reach outside (no `load*`, `dofile`,
//! `require`, `getfenv`/`setfenv`, `rawset`, `collectgarbage`, `print`), `string` (without `dump`),
//! `table`, `math` and `os.time`/`os.date`/`os.clock`; library tables are read-only so one
//! script cannot change what the next one sees. Each run has a wall-clock limit, checked
//! every 1,000 VM instructions, and a memory limit.
//!
//! Lua states are not `Send`, so each thread keeps its own state with a cache of compiled
//! scripts keyed by their text; [`crate::HealthCustomizations`] stays `Send + Sync`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ferrocd_model::HealthStatus;
use mlua::{
    Function, HookTriggers, Lua, LuaOptions, LuaSerdeExt, SerializeOptions, StdLib, Table,
    Value as LuaValue, VmState,
};
use serde_json::Value;

use crate::HealthAssessment;

/// Limits for one run of a health script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LuaLimits {
    /// Wall-clock time a script may run.
    pub time: Duration,
    /// Memory a script may allocate, in bytes, on top of what the interpreter holds.
    pub memory_bytes: usize,
}

impl Default for LuaLimits {
    fn default() -> Self {
        Self {
            time: Duration::from_millis(100),
            memory_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Why a health script gave no health.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LuaScriptError {
    /// The script does not compile.
    #[error("compiling health script: {0}")]
    Compile(String),
    /// The script raised an error (including calling a function the sandbox refuses).
    #[error("running health script: {0}")]
    Runtime(String),
    /// The script ran past its time limit.
    #[error("health script exceeded its time limit of {0:?}")]
    Timeout(Duration),
    /// The script allocated past its memory limit.
    #[error("health script exceeded its memory limit of {0} bytes")]
    Memory(usize),
    /// The script returned something else than a table with a known status.
    #[error("health script returned {0}")]
    BadResult(String),
    /// The interpreter could not be set up.
    #[error("setting up the lua sandbox: {0}")]
    Sandbox(String),
}

/// How many compiled scripts a thread keeps before starting afresh.
const CACHE_LIMIT: usize = 512;

struct Runtime {
    lua: Lua,
    /// The read-only sandbox globals every script sees through `__index`.
    sandbox: Table,
    compiled: HashMap<String, Function>,
    deadline: Rc<Cell<Option<Instant>>>,
}

thread_local! {
    static RUNTIME: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

/// Runs `script` on `obj`. `Ok(None)` when the script returns `nil` (no opinion).
pub(crate) fn run_health_script(
    script: &str,
    obj: &Value,
    limits: &LuaLimits,
) -> Result<Option<HealthAssessment>, LuaScriptError> {
    RUNTIME.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Runtime::new().map_err(|e| LuaScriptError::Sandbox(e.to_string()))?);
        }
        match slot.as_mut() {
            Some(runtime) => runtime.run(script, obj, limits),
            None => Err(LuaScriptError::Sandbox("no interpreter".to_string())),
        }
    })
}

impl Runtime {
    fn new() -> mlua::Result<Self> {
        let lua = Lua::new_with(
            StdLib::STRING | StdLib::TABLE | StdLib::MATH | StdLib::OS,
            LuaOptions::default(),
        )?;
        let globals = lua.globals();
        let sandbox = lua.create_table()?;
        for name in [
            "assert",
            "error",
            "ipairs",
            "next",
            "pairs",
            "pcall",
            "select",
            "tonumber",
            "tostring",
            "type",
            "unpack",
            "xpcall",
            "rawequal",
            "rawget",
            "setmetatable",
            "getmetatable",
            "_VERSION",
        ] {
            sandbox.set(name, globals.get::<LuaValue>(name)?)?;
        }
        let string: Table = globals.get("string")?;
        string.set("dump", LuaValue::Nil)?;
        // Strings share one metatable whose __index is the real string library: hide it.
        lua.load("getmetatable('').__metatable = false").exec()?;
        for lib in ["string", "table", "math"] {
            let table: Table = globals.get(lib)?;
            sandbox.set(lib, read_only(&lua, table)?)?;
        }
        let os_full: Table = globals.get("os")?;
        let os = lua.create_table()?;
        for name in ["time", "date", "clock"] {
            os.set(name, os_full.get::<LuaValue>(name)?)?;
        }
        sandbox.set("os", read_only(&lua, os)?)?;
        globals.set("os", LuaValue::Nil)?;

        let deadline: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let hook_deadline = Rc::clone(&deadline);
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(1000),
            move |_lua, _debug| match hook_deadline.get() {
                Some(deadline) if Instant::now() > deadline => {
                    Err(mlua::Error::runtime(TIMEOUT_MARKER))
                }
                _ => Ok(VmState::Continue),
            },
        )?;
        Ok(Self {
            lua,
            sandbox,
            compiled: HashMap::new(),
            deadline,
        })
    }

    fn function(&mut self, script: &str) -> Result<Function, LuaScriptError> {
        if let Some(f) = self.compiled.get(script) {
            return Ok(f.clone());
        }
        let f = self
            .lua
            .load(script)
            .set_name("health.lua")
            .set_mode(mlua::ChunkMode::Text)
            .into_function()
            .map_err(|e| LuaScriptError::Compile(e.to_string()))?;
        if self.compiled.len() >= CACHE_LIMIT {
            self.compiled.clear();
        }
        self.compiled.insert(script.to_string(), f.clone());
        Ok(f)
    }

    fn run(
        &mut self,
        script: &str,
        obj: &Value,
        limits: &LuaLimits,
    ) -> Result<Option<HealthAssessment>, LuaScriptError> {
        let f = self.function(script)?;
        let sandbox_err = |e: mlua::Error| LuaScriptError::Sandbox(e.to_string());
        let env = self.lua.create_table().map_err(sandbox_err)?;
        let meta = self.lua.create_table().map_err(sandbox_err)?;
        meta.set("__index", self.sandbox.clone())
            .map_err(sandbox_err)?;
        env.set_metatable(Some(meta)).map_err(sandbox_err)?;
        let options = SerializeOptions::new()
            .serialize_none_to_null(false)
            .serialize_unit_to_null(false);
        let lua_obj = self
            .lua
            .to_value_with(obj, options)
            .map_err(|e| LuaScriptError::Sandbox(format!("converting obj: {e}")))?;
        env.set("obj", lua_obj).map_err(sandbox_err)?;
        f.set_environment(env).map_err(sandbox_err)?;

        let used = self.lua.used_memory();
        let _ = self
            .lua
            .set_memory_limit(used.saturating_add(limits.memory_bytes));
        self.deadline.set(Some(Instant::now() + limits.time));
        let result = f.call::<LuaValue>(());
        self.deadline.set(None);
        let _ = self.lua.set_memory_limit(0);
        let outcome = match result {
            Ok(value) => read_result(value),
            Err(e) => Err(classify(&e, limits)),
        };
        if outcome.is_err() {
            let _ = self.lua.gc_collect();
        }
        outcome
    }
}

const TIMEOUT_MARKER: &str = "ferrocd: health script time limit reached";

fn classify(e: &mlua::Error, limits: &LuaLimits) -> LuaScriptError {
    if matches!(e, mlua::Error::MemoryError(_)) || e.to_string().contains("not enough memory") {
        return LuaScriptError::Memory(limits.memory_bytes);
    }
    let text = e.to_string();
    if text.contains(TIMEOUT_MARKER) {
        return LuaScriptError::Timeout(limits.time);
    }
    let first = text.lines().next().unwrap_or("").to_string();
    LuaScriptError::Runtime(first)
}

/// A proxy that reads from `table` and refuses writes.
fn read_only(lua: &Lua, table: Table) -> mlua::Result<Table> {
    let proxy = lua.create_table()?;
    let meta = lua.create_table()?;
    meta.set("__index", table)?;
    meta.set(
        "__newindex",
        lua.create_function(|_, ()| -> mlua::Result<()> {
            Err(mlua::Error::runtime("sandbox libraries are read-only"))
        })?,
    )?;
    meta.set("__metatable", false)?;
    proxy.set_metatable(Some(meta))?;
    Ok(proxy)
}

fn read_result(value: LuaValue) -> Result<Option<HealthAssessment>, LuaScriptError> {
    let table = match value {
        LuaValue::Nil => return Ok(None),
        LuaValue::Table(t) => t,
        other => {
            return Err(LuaScriptError::BadResult(format!(
                "a {} instead of a table",
                other.type_name()
            )));
        }
    };
    let status: Option<String> = table
        .get("status")
        .map_err(|e| LuaScriptError::BadResult(format!("a status that is not a string: {e}")))?;
    let message: Option<String> = table.get("message").unwrap_or(None);
    let status = match status {
        None => return Ok(None),
        Some(s) => HealthStatus::parse(&s)
            .ok_or_else(|| LuaScriptError::BadResult(format!("unknown status {s:?}")))?,
    };
    Ok(Some(HealthAssessment::new(
        status,
        message.unwrap_or_default(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(script: &str, obj: &Value) -> Result<Option<HealthAssessment>, LuaScriptError> {
        run_health_script(script, obj, &LuaLimits::default())
    }

    #[test]
    fn reads_obj_and_returns_status() {
        let script = "hs = {}\nif obj.status.ready then hs.status = 'Healthy' else hs.status = 'Progressing' end\nhs.message = obj.metadata.name\nreturn hs";
        let obj = json!({"metadata": {"name": "m"}, "status": {"ready": true}});
        assert_eq!(run(script, &obj), Ok(Some(HealthAssessment::healthy("m"))));
    }

    #[test]
    fn json_null_is_nil() {
        let script = "hs = {}\nif obj.spec == nil then hs.status = 'Degraded' else hs.status = 'Healthy' end\nreturn hs";
        assert_eq!(
            run(script, &json!({"spec": null})).map(|r| r.map(|h| h.status)),
            Ok(Some(HealthStatus::Degraded))
        );
    }

    #[test]
    fn globals_do_not_leak_between_runs() {
        let first = "leaked = 'yes'\nreturn {status = 'Healthy'}";
        let second = "if leaked ~= nil then return {status = 'Degraded', message = leaked} end\nreturn {status = 'Healthy'}";
        assert!(run(first, &json!({})).is_ok());
        assert_eq!(
            run(second, &json!({})),
            Ok(Some(HealthAssessment::healthy("")))
        );
    }

    #[test]
    fn libraries_are_read_only() {
        let err = run(
            "string.upper = nil\nreturn {status = 'Healthy'}",
            &json!({}),
        );
        assert!(matches!(err, Err(LuaScriptError::Runtime(m)) if m.contains("read-only")));
        let ok = run(
            "return {status = 'Healthy', message = string.upper('x')}",
            &json!({}),
        );
        assert_eq!(ok, Ok(Some(HealthAssessment::healthy("X"))));
    }

    #[test]
    fn shared_tables_cannot_be_reached() {
        let err = run(
            "getmetatable('').__index.upper = nil\nreturn {status = 'Healthy'}",
            &json!({}),
        );
        assert!(matches!(err, Err(LuaScriptError::Runtime(_))), "{err:?}");
        let err = run(
            "rawset(string, 'upper', nil)\nreturn {status = 'Healthy'}",
            &json!({}),
        );
        assert!(matches!(err, Err(LuaScriptError::Runtime(_))), "{err:?}");
        let ok = run(
            "return {status = 'Healthy', message = ('x'):upper()}",
            &json!({}),
        );
        assert_eq!(ok, Ok(Some(HealthAssessment::healthy("X"))));
    }

    #[test]
    fn unknown_status_is_an_error() {
        let err = run("return {status = 'Fine'}", &json!({}));
        assert!(matches!(err, Err(LuaScriptError::BadResult(m)) if m.contains("Fine")));
    }

    #[test]
    fn nil_result_is_no_opinion() {
        assert_eq!(run("return nil", &json!({})), Ok(None));
    }
}
