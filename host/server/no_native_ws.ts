// Imported before `ws` (ES modules evaluate in import order): `ws` loads the
// optional native addons bufferutil and utf-8-validate whenever they are
// installed, and the library path promises to load no native addon. Explicit
// settings from the environment win.
process.env.WS_NO_BUFFER_UTIL ??= '1';
process.env.WS_NO_UTF_8_VALIDATE ??= '1';
export {};
