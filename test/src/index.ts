// System tests live beside this file; they start real broker processes and drive them over real sockets.
export {};
