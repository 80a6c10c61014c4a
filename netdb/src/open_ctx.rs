//! [`OpenCtx`]: what every model of one database is opened with.

use cortex::CortexConfig;
use redex::{ChannelName, Redex};

/// The shared settings of a database, plus the channel of the model being opened.
pub(crate) struct OpenCtx<'a> {
    pub(crate) redex: &'a Redex,
    pub(crate) name: &'a ChannelName,
    pub(crate) origin_hash: u64,
    pub(crate) cortex_config: &'a CortexConfig,
}
