//! Address-poisoning and dust checks (being written).
