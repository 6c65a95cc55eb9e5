//! The demo region Elm-Asse (being written).
