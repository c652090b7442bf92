/** Model files: safetensors, Hugging Face config.json and pretrained directories, llama2.c checkpoints. */
export * from "./atomic";
export * from "./safetensors";
export * from "./config_json";
export * from "./pretrained";
export * from "./llama2c";
