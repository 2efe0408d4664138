"""`vbench compile`: turn an int8 .tflite into C (plan + weights) for the vbench runtime."""

from __future__ import annotations

import json

NAME = "compile"
HELP = "compile an int8 .tflite model into C sources for the vbench int8 runtime"


def add_arguments(p) -> None:
    p.add_argument("model", metavar="MODEL.tflite", help="TFLite model (int8-quantized; float32 with --dtype)")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR",
                   help="directory for <name>_model.c/.h/.json (created if missing)")
    p.add_argument("--name", help="model name, a C identifier (default: from the file name)")
    p.add_argument("--rounding", choices=("litert", "double"), default="litert",
                   help="requantization rounding: 'litert' matches the ai-edge-litert golden "
                        "model (default); 'double' matches TFLite Micro / CMSIS-NN")
    p.add_argument("--dtype", choices=("int8", "float32", "auto"), default="int8",
                   help="int8 (default: a float model is refused), float32, or auto (what the model is)")
    p.add_argument("--weights", choices=("dense", "sparse", "palette"), default="dense",
                   help="weight encoding (int8): dense (default); sparse: pruned layers keep only their "
                        "non-zero weights and skip the zeros; palette: layers with <= 16 distinct weights "
                        "store 4-bit indices (see vbench.compiler.encodings)")
    p.add_argument("--winograd", action="store_true",
                   help="run 3x3 stride-1 CONV_2D layers as Winograd F(2x2,3x3) (int8, bit-exact)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args) -> int:
    from vbench.compiler import compile_model, default_name
    from vbench.outputs import check_writable_dir

    name = args.name or default_name(args.model)
    files = [f"{name}_model.{ext}" for ext in ("c", "h", "json")]
    check_writable_dir(args.output, "-o/--output", files=files)  # before the model is read and compiled
    compiled = compile_model(args.model, args.output, args.name, rounding=args.rounding, dtype=args.dtype,
                             weights=args.weights, winograd=args.winograd)
    if args.json:
        print(json.dumps(compiled.to_dict(), indent=1))
    else:
        print(compiled.table())
    return 0
