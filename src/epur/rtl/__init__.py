"""The RTL of E-PUR's computation unit in Amaranth: bit-exact with the functional model
(``epur.functional``) and cycle-exact with the timing model (``epur.timing``), for
fixed-point formats and a power-of-two number of lanes (``docs/datapath.md``)."""
