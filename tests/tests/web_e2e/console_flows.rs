//! Browser flows of the admin and dispatch console (slot; filled this session).
