//! # Circuits and the text format
//!
//! A [`Circuit`](crate::ir::Circuit) is an immutable node with children. Builders
//! validate shapes and give rust_circuit's automatic names:
//!
//! ```
//! use circuit::ir::Circuit;
//!
//! let x = Circuit::scalar(1.5, &[2, 3], Some("x"))?;
//! let w = Circuit::symbol_random(&[3, 4], Some("w"))?; // a placeholder (a free symbol)
//! let y = Circuit::einsum("ab,bc->ac", [x.clone(), w.clone()])?;
//! assert_eq!(y.name(), Some("x * w"));
//! assert_eq!(y.shape().as_slice(), &[2, 4]);
//! // Shape errors are typed errors that name the node and both shapes.
//! assert!(Circuit::einsum("ab,bc->ac", [x.clone(), x.clone()]).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Circuits print to, and parse from, rust_circuit's line format (`.circ`): one node per
//! line, children indented by two spaces, later occurrences by identifier only.
//! Equality is by content hash, so `parse(print(c)) == c`:
//!
//! ```
//! use circuit::ir::Circuit;
//! use circuit::text::{parse_circuit, ParseOptions, PrintOptions};
//!
//! let a = Circuit::scalar(2.0, &[3], Some("a"))?;
//! let sum = a.add(&a)?.rename(Some("twice"))?;
//! let text = PrintOptions::default().repr(&[sum.clone()])?;
//! assert_eq!(text, "'twice' Add\n  'a' [3] Scalar 2\n  'a'");
//! assert_eq!(parse_circuit(&text, &ParseOptions::default())?, sum);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Parse errors show the file, line and column, the line and a caret (`render()`):
//!
//! ```
//! use circuit::text::{parse_circuit, ParseOptions};
//! let err = parse_circuit("0 Add\n  1 [2] Scalar 1d", &ParseOptions::default()).unwrap_err();
//! assert!(err.render().contains("'1d' is not a number"));
//! assert_eq!((err.line, err.col), (2, 16));
//! ```
//!
//! A Module is a call site: a spec circuit with Symbols bound to inputs. Inputs may carry
//! extra leading (batch) dims, and symbolic sizes (`0s`) take the bound sizes:
//!
//! ```
//! use circuit::text::{parse_circuit, ParseOptions};
//! let m = parse_circuit(
//!     "'call' Module
//!   'body' Einsum i,hi->h
//!     'in' [0s] Symbol 873a937e-2bb9-4f7f-b55e-a100db3dde52
//!     'w' [2*1s,0s] Symbol c171d519-8793-4a8b-ac5e-d550347f30a6
//!   'x' [3,17] Scalar 7 ! 'in'
//!   'wx' [22,17] Scalar 8 ! 'w'",
//!     &ParseOptions::default(),
//! )?;
//! assert_eq!(m.shape().as_slice(), &[3, 22]); // batch [3], 2*1s = 22
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
