exports.emptyOrNull = (text) => (text === "" ? null : text);
