"""Sub-commands of ``walletgate``; each module registers its own on the parser."""
