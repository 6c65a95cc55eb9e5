//! Browser flows of caregivers and drivers (slot; filled this session).
