// Asio's and Asio.SSL's compiled parts, built once for the whole program
// (BOOST_ASIO_SEPARATE_COMPILATION); see DESIGN "Build time".
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
