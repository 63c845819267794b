//! Model cards
