set(AXL_NET_SOURCES emu/net/ir.c emu/net/onnx_import.c emu/net/graph.c emu/net/ops_elem.c
    emu/net/ops_shape.c emu/net/ops_move.c emu/net/ops_pad.c emu/net/ops_mac.c
    emu/net/ops_norm.c emu/net/autodiff.c emu/net/onnx_export.c emu/net/inspect.c
    emu/net/ops_nary.c emu/net/exact_fast.c emu/net/pool.c)
